/**
 * Harvest control shared by the admin endpoint and the scheduled functions, and the config →
 * source mapping. Search, records and downloads are in services/catalog/.
 */
import type { Config } from "../config.js";
import type { CatalogSource, RunRecord } from "../schemas/catalog.js";
import type { IndexPointer } from "../schemas/catalog-search.js";
import type { HostPolicy } from "../sources/http.js";
import type { HarvesterOptions } from "../sources/index.js";
import { publishCatalogIndex, type IndexDeps } from "./catalog/search-index.js";
import { getRun, getSourceState, listRuns, runHarvest, startRun } from "./harvest.js";

export interface CatalogDeps extends IndexDeps {
  config: Config;
}

// ---------- harvest control ---------------------------------------------------------------------

export function sourceBaseUrl(config: Config, source: CatalogSource): string {
  switch (source) {
    case "neuromorpho":
      return config.neuromorphoBaseUrl;
    case "hippocampome":
      return config.hippocampomeBaseUrl;
    case "modeldb":
      return config.modeldbBaseUrl;
    case "dandi":
      return config.dandiBaseUrl;
  }
}

/** The harvester options a deployment's params give a source. */
export function harvesterOptions(config: Config, source: CatalogSource): HarvesterOptions {
  const regions = {
    neuromorpho: config.neuromorphoRegions,
    hippocampome: config.hippocampomeRegions,
    modeldb: config.modeldbRegions,
    dandi: [],
  }[source];
  const filters = {
    ...(regions.length ? { brainRegions: regions } : {}),
    ...(source === "dandi" && config.dandiSearch ? { search: config.dandiSearch } : {}),
  };
  return { baseUrl: sourceBaseUrl(config, source), ...(Object.keys(filters).length ? { filters } : {}) };
}

export interface HarvestRequest {
  limit?: number | undefined;
  mode?: "full" | "incremental" | undefined;
  timeBudgetMs: number;
  /** Politeness overrides (tests against the loopback upstream). */
  hostPolicy?: Partial<HostPolicy>;
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
  deps: CatalogDeps,
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
    ...(limit !== undefined ? { limit } : {}),
    ...(request.mode && !active ? { mode: request.mode } : {}),
    timeBudgetMs: request.timeBudgetMs,
    ...(request.hostPolicy ? { hostPolicy: request.hostPolicy } : {}),
  });
  const finished = run.status === "complete" || run.status === "partial";
  const changed = run.counts.created + run.counts.updated + run.counts.withdrawn > 0;
  let index: IndexPointer | null = null;
  if (finished && changed) index = await publishCatalogIndex(deps, `${trigger} run:${run.id}`);
  return { run, index };
}

/** Creates (or returns the active) run without working on it; a later invocation does the work. */
export async function queueHarvest(
  deps: CatalogDeps,
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
  deps: Pick<CatalogDeps, "db" | "config" | "now">,
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

export { getRun, listRuns };
