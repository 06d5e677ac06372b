/**
 * The work of each job kind, over the same services the synchronous routes use. This module
 * loads the catalog and the transfer client, so the job trigger imports it on its first event
 * (triggers/jobs.ts), not when index.ts is loaded by every other function.
 */
import type { Root } from "../root.js";
import { runBundleJob } from "./bundle-job.js";
import { runHarvestJob, runIndexJob } from "./catalog-jobs.js";
import type { JobKinds } from "./runner.js";
import { runTransferJob } from "./transfer-job.js";

export function jobKinds(root: Root): JobKinds {
  return {
    transfer: (ctx) => runTransferJob(root, ctx),
    "catalog-bundle": (ctx) => runBundleJob(root, ctx),
    harvest: (ctx) => runHarvestJob(root, ctx),
    "index-rebuild": (ctx) => runIndexJob(root, ctx),
  };
}
