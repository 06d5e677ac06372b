/**
 * Scheduled harvests, one function per source. Each wake-up (the source registry's `schedule`)
 * continues the source's active run or starts a new one once HARVEST_INTERVAL_HOURS has passed,
 * works for HARVEST_TIME_BUDGET_SECONDS (below the 540 s timeout, leaving time to checkpoint and
 * rebuild the index), and rebuilds the search index when the run finishes having changed the
 * catalog. A run cut short (budget, crash, redeploy) is continued by the next wake-up; the
 * orchestrator's lease makes an overlapping invocation give up with a conflict, which is logged.
 */
import { onSchedule } from "firebase-functions/scheduler";
import { loadConfig } from "../config.js";
import { ApiError } from "../errors.js";
import type { CatalogSource } from "../schemas/catalog.js";
import { harvestAndIndex, scheduledAction, type HarvestControlDeps } from "../services/harvest/control.js";
import { instance } from "../services/root.js";
import { SOURCE_REGISTRY } from "../sources/registry.js";

/** One scheduled invocation's work; exported for tests and scripts. */
export async function scheduledHarvest(deps: HarvestControlDeps, source: CatalogSource): Promise<void> {
  const action = await scheduledAction(deps, source);
  if (action === "idle") {
    deps.log.info("harvest: nothing to do", { source });
    return;
  }
  try {
    const { run, index } = await harvestAndIndex(
      deps,
      source,
      { timeBudgetMs: deps.config.harvestTimeBudgetSeconds * 1000 },
      `schedule:${source}`,
    );
    deps.log.info("harvest: invocation done", {
      source,
      action,
      runId: run.id,
      status: run.status,
      counts: run.counts,
      indexRecords: index?.records ?? null,
    });
  } catch (err) {
    // Another worker (an admin's request, an overlapping wake-up) holds the run: not a failure,
    // and retrying would only collide again.
    if (err instanceof ApiError && err.code === "conflict") {
      deps.log.warn("harvest: run busy, skipping this wake-up", { source, detail: err.message });
      return;
    }
    throw err;
  }
}

function scheduled(source: CatalogSource) {
  return onSchedule(
    {
      schedule: SOURCE_REGISTRY[source].schedule,
      timeZone: "UTC",
      timeoutSeconds: 540,
      // Building the index holds every record's search text and the builder's postings at once:
      // bench/catalog.ts measures a peak RSS of about 2.2 GB for 300,000 records.
      memory: "4GiB",
      // The next wake-up resumes from the checkpoint; a Scheduler retry would only overlap it.
      retryCount: 0,
    },
    async () => {
      await scheduledHarvest(instance(loadConfig), source);
    },
  );
}

export const harvestNeuromorpho = scheduled("neuromorpho");
export const harvestHippocampome = scheduled("hippocampome");
export const harvestModeldb = scheduled("modeldb");
export const harvestDandi = scheduled("dandi");
