/**
 * Runs each job once its document is created (docs/jobs.md): Cloud Functions gives no reliable
 * work after an HTTP response, so the route only writes the queued job and this trigger does the
 * work with its own timeout and memory. Events are delivered at least once; the runner claims the
 * job in a transaction, so a second delivery finds it running and does nothing. No retries: a
 * retry would start the work over, and a failed job says why instead.
 */
import { onDocumentCreated } from "firebase-functions/firestore";
import { loadConfig } from "../config.js";
import { JOBS_COLLECTION } from "../schemas/jobs.js";
import { runJob } from "../services/jobs/runner.js";
import { RUNNER_TIMEOUT_SECONDS } from "../services/jobs/store.js";
import { instance } from "../services/root.js";

export const jobsRun = onDocumentCreated(
  // Sized like catalogadmin: an index rebuild holds the whole index, a harvest step takes minutes.
  {
    document: `${JOBS_COLLECTION}/{jobId}`,
    memory: "2GiB",
    timeoutSeconds: RUNNER_TIMEOUT_SECONDS,
    retry: false,
  },
  async (event) => {
    const root = instance(loadConfig);
    const { jobKinds } = await import("../services/jobs/kinds.js");
    const outcome = await runJob(root, jobKinds(root), event.params.jobId);
    root.log.info("job invocation done", { id: event.params.jobId, ...outcome });
  },
);
