/**
 * Harvest runs and index rebuilds as jobs: the admin routes' work, run by the job trigger (which
 * has the 540 s and 2 GiB the catalogadmin function has). The harvest keeps its detailed progress
 * in its run record (GET /v2/catalog/runs/{id}); the job reports the run's records seen of the
 * source's total after each step's checkpoint (throttled like every job), and a cancel pauses
 * the run before its next step, so a later harvest resumes it. A rebuild is one step and does not
 * stop part-way: a half-built index is worth nothing.
 */
import { z } from "zod";
import { catalogSourceSchema } from "../../schemas/catalog.js";
import { publishCatalogIndex } from "../catalog/search-index.js";
import type { HostPolicy } from "../../sources/http.js";
import { harvestAndIndex } from "../harvest/control.js";
import type { Root } from "../root.js";
import { JobCancelled, type JobContext } from "./runner.js";

type Needs = Pick<Root, "db" | "config" | "now" | "log" | "get">;

const harvestInput = z.object({
  source: catalogSourceSchema,
  limit: z.number().int().positive().optional(),
  mode: z.enum(["full", "incremental"]).optional(),
});

/** `hostPolicy`: politeness overrides for tests against the loopback upstream, never from input. */
export async function runHarvestJob(
  root: Needs,
  ctx: JobContext,
  hostPolicy?: Partial<HostPolicy>,
): Promise<Record<string, unknown>> {
  const input = harvestInput.parse(ctx.input);
  await ctx.progress(0, null, `harvesting ${input.source}`);
  const { run, index } = await harvestAndIndex(
    root,
    input.source,
    {
      limit: input.limit,
      mode: input.mode,
      timeBudgetMs: root.config.harvestTimeBudgetSeconds * 1000,
      ...(hostPolicy ? { hostPolicy } : {}),
      signal: ctx.signal,
      async onProgress(step) {
        const { phase, done, total } = step.progress;
        // A limited run stops at its limit, whatever the source's total.
        const expected = total !== null && step.limit !== null ? Math.min(total, step.limit) : total;
        try {
          await ctx.progress(done, expected, `run ${step.id}: ${phase}, ${done} records seen`);
        } catch (err) {
          // The signal is aborted too: the harvest pauses its run before the next step.
          if (!(err instanceof JobCancelled)) throw err;
        }
      },
    },
    `job:${ctx.id} ${ctx.owner}`,
  );
  if (ctx.signal.aborted) throw new JobCancelled();
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
