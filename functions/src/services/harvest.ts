/**
 * Harvest runs, split by responsibility (issue 9): the run state machine (harvest/run.ts), record
 * writing (harvest/write.ts), the seen-set and sweep (harvest/sweep.ts) and harvest control
 * (harvest/control.ts). This module keeps the public surface in one import.
 */
export {
  getRun,
  getSourceState,
  listRuns,
  runHarvest,
  startRun,
  type HarvestDeps,
  type HarvestOptions,
} from "./harvest/run.js";
export { contentHash, writeRecords, type WriteCounts } from "./harvest/write.js";
export {
  harvestAndIndex,
  queueHarvest,
  scheduledAction,
  type HarvestControlDeps,
  type HarvestOutcome,
  type HarvestRequest,
} from "./harvest/control.js";
