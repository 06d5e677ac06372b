/**
 * Harvest runs and index rebuilds as jobs: the admin routes' work, run by the job trigger (which
 * has the 540 s and 2 GiB the catalogadmin function has). The harvest keeps its detailed progress
 * in its run record (GET /v2/catalog/runs/{id}); the job is one step that ends with the run's id
 * and counts. A rebuild is one step too. Neither stops part-way on a cancel: a harvest step
 * checkpoints on its own, and a half-built index is worth nothing.
 */
import { z } from "zod";
import { catalogSourceSchema } from "../../schemas/catalog.js";
import { publishCatalogIndex } from "../catalog/search-index.js";
import { harvestAndIndex } from "../harvest/control.js";
import type { Root } from "../root.js";
import type { JobContext } from "./runner.js";

type Needs = Pick<Root, "db" | "config" | "now" | "log">;

const harvestInput = z.object({
  source: catalogSourceSchema,
  limit: z.number().int().positive().optional(),
  mode: z.enum(["full", "incremental"]).optional(),
});

export async function runHarvestJob(root: Needs, ctx: JobContext): Promise<Record<string, unknown>> {
  const input = harvestInput.parse(ctx.input);
  await ctx.progress(0, 1, `harvesting ${input.source}`);
  const { run, index } = await harvestAndIndex(
    root,
    input.source,
    {
      limit: input.limit,
      mode: input.mode,
      timeBudgetMs: root.config.harvestTimeBudgetSeconds * 1000,
    },
    `job:${ctx.id} ${ctx.owner}`,
  );
  await ctx.progress(1, 1, `run ${run.id}: ${run.status}`);
  return {
    runId: run.id,
    status: run.status,
    counts: run.counts,
    indexRecords: index?.records ?? null,
  };
}

export async function runIndexJob(root: Needs, ctx: JobContext): Promise<Record<string, unknown>> {
  await ctx.progress(0, 1, "building the search index");
  const pointer = await publishCatalogIndex(root, `job:${ctx.id} admin:${ctx.owner}`);
  return { records: pointer.records, builtAt: pointer.builtAt };
}
