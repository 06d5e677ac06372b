/**
 * Jobs (issue 14): long work (image transfer, catalog bundles, harvests, index rebuilds) as a
 * document in `neurofire_jobs/{jobId}` that the owner reads over HTTP or listens to directly.
 * The stored shape is the contract firestore.rules is written against (owner = lower-case email).
 */
import { Timestamp } from "firebase-admin/firestore";
import { z } from "zod";

export const JOBS_COLLECTION = "neurofire_jobs";

export const jobKindSchema = z.enum(["transfer", "catalog-bundle", "harvest", "index-rebuild"]);
export type JobKind = z.output<typeof jobKindSchema>;

export const jobStateSchema = z.enum(["queued", "running", "done", "failed", "cancelled"]);
export type JobState = z.output<typeof jobStateSchema>;
/** States a job never leaves. */
export const FINAL_STATES: readonly JobState[] = ["done", "failed", "cancelled"];

export const jobProgressSchema = z.object({
  fraction: z.number().min(0).max(1),
  done: z.number().int().nonnegative(),
  total: z.number().int().nonnegative().nullable(),
  message: z.string(),
});
export type JobProgress = z.output<typeof jobProgressSchema>;

/** What the stored document and the API's answer share. */
const jobFields = z.object({
  owner: z.string(),
  kind: jobKindSchema,
  state: jobStateSchema,
  progress: jobProgressSchema,
  result: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().nullable(),
  cancelRequested: z.boolean(),
  dataset: z.string().nullable(),
});

/** The four times of a job, as `time` represents them. */
const jobTimes = <T extends z.ZodType>(time: T) => ({
  createdAt: time,
  updatedAt: time,
  startedAt: time.nullable(),
  finishedAt: time.nullable(),
});

/** `neurofire_jobs/{jobId}` as stored. */
export const jobDocSchema = jobFields.extend({
  ...jobTimes(z.instanceof(Timestamp)),
  /** The request the job was created from (already validated), for the runner. */
  input: z.record(z.string(), z.unknown()),
});
export type JobDoc = z.output<typeof jobDocSchema>;

/** A job as the API answers it: the document with ISO times and its id, without its input. */
export const jobSchema = jobFields.extend({ id: z.string(), ...jobTimes(z.iso.datetime()) });
export type Job = z.output<typeof jobSchema>;

/** The 202 answer of a route that started a job. */
export const jobAcceptedSchema = z.object({
  job: jobSchema,
  /** Where to poll: `/v2/jobs/{id}`. */
  location: z.string(),
});
export type JobAccepted = z.output<typeof jobAcceptedSchema>;

export const jobListSchema = z.object({
  jobs: z.array(jobSchema),
  /** Cursor of the next page, or null at the end. */
  next: z.string().nullable(),
});

/** A job id as Firestore's auto ids make them (20 letters and digits). */
export const jobIdSchema = z.string().regex(/^[A-Za-z0-9]{1,64}$/, { error: "not a job id" });
