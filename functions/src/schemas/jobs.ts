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

const timestamp = z.instanceof(Timestamp);

/** `neurofire_jobs/{jobId}` as stored. */
export const jobDocSchema = z.object({
  owner: z.string(),
  kind: jobKindSchema,
  state: jobStateSchema,
  progress: jobProgressSchema,
  result: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
  startedAt: timestamp.nullable(),
  finishedAt: timestamp.nullable(),
  cancelRequested: z.boolean(),
  dataset: z.string().nullable(),
  /** The request the job was created from (already validated), for the runner. */
  input: z.record(z.string(), z.unknown()),
});
export type JobDoc = z.output<typeof jobDocSchema>;

const isoTime = z.iso.datetime();

/** A job as the API answers it: the document with ISO times and its id. */
export const jobSchema = z.object({
  id: z.string(),
  owner: z.string(),
  kind: jobKindSchema,
  state: jobStateSchema,
  progress: jobProgressSchema,
  result: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
  startedAt: isoTime.nullable(),
  finishedAt: isoTime.nullable(),
  cancelRequested: z.boolean(),
  dataset: z.string().nullable(),
});
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
