/**
 * Harvest control: what an admin request or a scheduled wake-up does with a source's run, and
 * the index rebuild after a run that changed the catalog.
 */
import type { Config } from "../../config.js";
import type { RunRecord, CatalogSource } from "../../schemas/catalog.js";
import { userAgent, type HostPolicy } from "../../sources/http.js";
import { harvesterOptions } from "../../sources/registry.js";
import type { IndexPointer } from "../../schemas/catalog-search.js";
import { publishCatalogIndex, type IndexDeps } from "../catalog/search-index.js";
import { getRun, getSourceState, listRuns, runHarvest, startRun } from "./run.js";

/** What harvest control needs: the index's dependencies and the deployment's config. */
export interface HarvestControlDeps extends IndexDeps {
  config: Config;
}

export interface HarvestRequest {
  limit?: number | undefined;
  mode?: "full" | "incremental" | undefined;
  timeBudgetMs: number;
  /** Politeness overrides (tests against the loopback upstream). */
  hostPolicy?: Partial<HostPolicy>;
  /** Called after each step's checkpoint with the run as saved. */
  onProgress?: (run: RunRecord) => Promise<void>;
  /** Aborting pauses the run (resumable) before its next step. */
  signal?: AbortSignal;
}

export interface HarvestOutcome {
  run: RunRecord;
  /** The index published after the run finished with changes, if any. */
  index: IndexPointer | null;
}

/**
 * Works on `source`'s run (the active one, else a new one) within the time budget; when the run
 * finishes having changed the catalog, rebuilds and publishes the search index. An active run
 * keeps its own mode and limit: a resume must not widen or narrow what it promised to see.
 */
export async function harvestAndIndex(
  deps: HarvestControlDeps,
  source: CatalogSource,
  request: HarvestRequest,
  trigger: string,
): Promise<HarvestOutcome> {
  const { db, config } = deps;
  const state = await getSourceState(db, source);
  const active = state.activeRunId ? await getRun(db, state.activeRunId) : null;
  const limit = active ? (active.limit ?? undefined) : request.limit;
  const run = await runHarvest({ db, now: deps.now, log: deps.log }, source, {
    ...harvesterOptions(config, source),
    userAgent: userAgent(config.harvestContact),
    ...(limit !== undefined ? { limit } : {}),
    ...(request.mode && !active ? { mode: request.mode } : {}),
    timeBudgetMs: request.timeBudgetMs,
    ...(request.hostPolicy ? { hostPolicy: request.hostPolicy } : {}),
    ...(request.onProgress ? { onProgress: request.onProgress } : {}),
    ...(request.signal ? { signal: request.signal } : {}),
  });
  const finished = run.status === "complete" || run.status === "partial";
  const changed = run.counts.created + run.counts.updated + run.counts.withdrawn > 0;
  let index: IndexPointer | null = null;
  if (finished && changed) index = await publishCatalogIndex(deps, `${trigger} run:${run.id}`);
  return { run, index };
}

/** Creates (or returns the active) run without working on it; a later invocation does the work. */
export async function queueHarvest(
  deps: HarvestControlDeps,
  source: CatalogSource,
  request: Pick<HarvestRequest, "limit" | "mode">,
): Promise<RunRecord> {
  return startRun({ db: deps.db, now: deps.now }, source, {
    ...(request.limit !== undefined ? { limit: request.limit } : {}),
    ...(request.mode ? { mode: request.mode } : {}),
  });
}

/**
 * What a scheduled wake-up should do: continue the active run, start a new one once the source's
 * interval has passed since the last run started, or nothing.
 */
export async function scheduledAction(
  deps: Pick<HarvestControlDeps, "db" | "config" | "now">,
  source: CatalogSource,
): Promise<"continue" | "start" | "idle"> {
  const state = await getSourceState(deps.db, source);
  if (state.activeRunId) return "continue";
  const hours = deps.config.harvestIntervalHours[source];
  if (hours === undefined) return "idle";
  const [last] = await listRuns(deps.db, { source, limit: 1 });
  if (!last) return "start";
  return deps.now().getTime() - Date.parse(last.startedAt) >= hours * 3600_000 ? "start" : "idle";
}
