/**
 * `/v2/jobs`: the caller's long-running work (issue 14). Transfers, catalog bundles, harvests and
 * index rebuilds started with `?async=true` answer 202 with a job; its owner reads it here (or
 * listens to `neurofire_jobs/{id}` under firestore.rules) and may cancel it. Admins may read and
 * cancel anyone's job; anyone else's job is a 404, like one that does not exist.
 */
import { z } from "zod";
import { defineGroup, route, type Ctx } from "../http/route.js";
import { jobIdSchema, jobListSchema, jobSchema, type JobAccepted } from "../schemas/jobs.js";
import {
  cancelJob,
  createJob,
  getJob,
  listJobs,
  MAX_JOB_PAGE,
  type JobViewer,
  type NewJob,
} from "../services/jobs/store.js";

async function viewer(ctx: Ctx): Promise<JobViewer> {
  return { email: ctx.user.email, admin: await ctx.can("is_admin") };
}

const idParams = z.object({ id: jobIdSchema });

const cancelRoute = (method: "post" | "delete", path: string) =>
  route({
    method,
    path,
    allow: "signedIn",
    summary: "Cancel one of your jobs",
    description:
      "A queued job ends `cancelled` at once; a running one gets `cancelRequested` and stops between " +
      "items (within about a second of its next item). Cancelling a cancelled job answers it unchanged; " +
      "a job that already ended otherwise is 409.",
    params: idParams,
    response: jobSchema,
    // The entry's `after` is the digest of the job as answered; a transfer's dataset is named.
    audit: {
      action: "jobs.cancel",
      datasets: (_p, _b, result) => {
        const dataset = (result as { dataset: string | null } | undefined)?.dataset;
        return dataset ? [dataset] : [];
      },
    },
    async handler(ctx) {
      return cancelJob(ctx.deps, await viewer(ctx), ctx.params.id);
    },
  });

export const jobsApi = defineGroup({
  name: "jobs",
  mounts: ["/v2/jobs"],
  routes: [
    route({
      method: "get",
      path: "/",
      allow: "signedIn",
      summary: "Your jobs, newest first",
      description: `\`limit\` (default 20, at most ${MAX_JOB_PAGE}) and \`cursor\` (the previous page's \`next\`).`,
      query: z.strictObject({
        limit: z.coerce.number().int().min(1).max(MAX_JOB_PAGE).optional(),
        cursor: z.string().max(200).optional(),
      }),
      response: jobListSchema,
      handler: ({ deps, user, query }) => listJobs(deps, user.email, query),
    }),
    route({
      method: "get",
      path: "/:id",
      allow: "signedIn",
      summary: "One of your jobs: state, progress, result or error",
      params: idParams,
      response: jobSchema,
      async handler(ctx) {
        return getJob(ctx.deps, await viewer(ctx), ctx.params.id);
      },
    }),
    cancelRoute("post", "/:id/cancel"),
    cancelRoute("delete", "/:id"),
  ],
});

/**
 * Creates a queued job for the caller and answers 202 with it and where to read it; the
 * Firestore trigger on the new document runs it (triggers/jobs.ts). Call only after every check
 * that can refuse the request, so a refused request writes nothing.
 */
export async function acceptJob(ctx: Ctx, job: Omit<NewJob, "owner">): Promise<JobAccepted> {
  const created = await createJob(ctx.deps, { ...job, owner: ctx.user.email });
  const location = `/v2/jobs/${created.id}`;
  ctx.res.status(202).setHeader("Location", location);
  return { job: created, location };
}
