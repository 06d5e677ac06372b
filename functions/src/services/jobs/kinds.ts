/**
 * The work of each job kind, over the same services the synchronous routes use. Each kind's
 * module is imported when a job of that kind runs, so the trigger that runs jobs loads the
 * catalog or the transfer client only for the jobs that need them.
 */
import type { Root } from "../root.js";
import type { JobKinds } from "./runner.js";

export function jobKinds(root: Root): JobKinds {
  return {
    transfer: async (ctx) => (await import("./transfer-job.js")).runTransferJob(root, ctx),
    "catalog-bundle": async (ctx) => (await import("./bundle-job.js")).runBundleJob(root, ctx),
    harvest: async (ctx) => (await import("./catalog-jobs.js")).runHarvestJob(root, ctx),
    "index-rebuild": async (ctx) => (await import("./catalog-jobs.js")).runIndexJob(root, ctx),
  };
}
