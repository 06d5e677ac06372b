/**
 * Job documents: creating them (the HTTP route that accepts the work), reading and listing them
 * for their owner, and cancelling. Running them is runner.ts's. Another caller's job is answered
 * exactly like a job that does not exist (404), so ids cannot be probed.
 */
import { Timestamp, type DocumentSnapshot, type Firestore } from "firebase-admin/firestore";
import { ApiError, conflict, notFound } from "../../errors.js";
import {
  FINAL_STATES,
  JOBS_COLLECTION,
  jobDocSchema,
  type Job,
  type JobDoc,
  type JobKind,
} from "../../schemas/jobs.js";

export interface StoreDeps {
  db: Firestore;
  now: () => Date;
}

/** Who is asking: their lower-case email, and whether they are a global admin. */
export interface JobViewer {
  email: string;
  admin: boolean;
}

export interface NewJob {
  owner: string;
  kind: JobKind;
  dataset: string | null;
  input: Record<string, unknown>;
}

/** The job trigger's timeout: Cloud Functions stops the instance running a job after it. */
export const RUNNER_TIMEOUT_SECONDS = 540;
/**
 * A queued or running job not updated for this long has no runner any more: the instance died
 * or was stopped at its timeout (claiming the job wrote `updatedAt`, and the runner is stopped
 * at most RUNNER_TIMEOUT_SECONDS after). The margin covers clock skew between instances.
 */
export const STALE_AFTER_MS = (RUNNER_TIMEOUT_SECONDS + 60) * 1000;
export const STALE_REASON = "the runner stopped without finishing";

export const MAX_JOB_PAGE = 100;
export const DEFAULT_JOB_PAGE = 20;

export function jobsRef(db: Firestore) {
  return db.collection(JOBS_COLLECTION);
}

const iso = (t: Timestamp) => t.toDate().toISOString();

/** A stored document as the API answers it (the input stays server-side). */
export function toJob(id: string, doc: Omit<JobDoc, "input">): Job {
  return {
    id,
    owner: doc.owner,
    kind: doc.kind,
    state: doc.state,
    progress: doc.progress,
    result: doc.result,
    error: doc.error,
    createdAt: iso(doc.createdAt),
    updatedAt: iso(doc.updatedAt),
    startedAt: doc.startedAt ? iso(doc.startedAt) : null,
    finishedAt: doc.finishedAt ? iso(doc.finishedAt) : null,
    cancelRequested: doc.cancelRequested,
    dataset: doc.dataset,
  };
}

export function parseJob(snap: DocumentSnapshot): JobDoc | undefined {
  if (!snap.exists) return undefined;
  const parsed = jobDocSchema.safeParse(snap.data());
  if (!parsed.success) throw new ApiError("internal", `Job ${snap.id} is malformed`);
  return parsed.data;
}

/** Writes a queued job; the Firestore trigger on its creation runs it (runner.ts). */
export async function createJob(deps: StoreDeps, job: NewJob): Promise<Job> {
  const ref = jobsRef(deps.db).doc();
  const now = Timestamp.fromDate(deps.now());
  const doc: JobDoc = {
    owner: job.owner.toLowerCase(),
    kind: job.kind,
    state: "queued",
    progress: { fraction: 0, done: 0, total: null, message: "queued" },
    result: null,
    error: null,
    createdAt: now,
    updatedAt: now,
    startedAt: null,
    finishedAt: null,
    cancelRequested: false,
    dataset: job.dataset,
    input: job.input,
  };
  await ref.create(doc);
  return toJob(ref.id, doc);
}

const missing = (id: string) => notFound(`No job ${id}`);

function visible(doc: JobDoc | undefined, viewer: JobViewer): doc is JobDoc {
  return doc !== undefined && (doc.owner === viewer.email.toLowerCase() || viewer.admin);
}

function isStale(doc: Pick<JobDoc, "state" | "updatedAt">, nowMs: number): boolean {
  return !FINAL_STATES.includes(doc.state) && nowMs - doc.updatedAt.toMillis() > STALE_AFTER_MS;
}

/** What ends a job whose runner is gone, as of `now`. */
function staleEnd(doc: Pick<JobDoc, "progress">, now: Timestamp): Partial<JobDoc> {
  return {
    state: "failed",
    error: STALE_REASON,
    progress: { ...doc.progress, message: "failed" },
    updatedAt: now,
    finishedAt: now,
  };
}

/**
 * A job read as `doc` that may have lost its runner: if it is stale, marks it failed, in a
 * transaction that re-reads it, so a job that moved on meanwhile is left alone and answered as
 * it now is. Anything else is answered as read, with no further read.
 */
async function settleStale(
  deps: StoreDeps,
  id: string,
  doc: Omit<JobDoc, "input">,
): Promise<Omit<JobDoc, "input">> {
  if (!isStale(doc, deps.now().getTime())) return doc;
  const ref = jobsRef(deps.db).doc(id);
  const current = await deps.db.runTransaction(async (tx) => {
    const fresh = parseJob(await tx.get(ref));
    if (!fresh) return undefined;
    const now = deps.now();
    if (!isStale(fresh, now.getTime())) return fresh;
    const change = staleEnd(fresh, Timestamp.fromDate(now));
    tx.update(ref, change);
    return { ...fresh, ...change };
  });
  return current ?? doc;
}

export async function getJob(deps: StoreDeps, viewer: JobViewer, id: string): Promise<Job> {
  const doc = parseJob(await jobsRef(deps.db).doc(id).get());
  if (!visible(doc, viewer)) throw missing(id);
  return toJob(id, await settleStale(deps, id, doc));
}

/** Cursor: the last job's creation time (ms) and id, opaque to clients. */
function encodeCursor(job: Job): string {
  return Buffer.from(JSON.stringify([Date.parse(job.createdAt), job.id])).toString("base64url");
}

function decodeCursor(cursor: string): [number, string] {
  try {
    const value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      Number.isSafeInteger(value[0]) &&
      typeof value[1] === "string"
    ) {
      return [value[0] as number, value[1]];
    }
  } catch {
    // fall through
  }
  throw new ApiError("invalid_argument", "Invalid cursor: pass the `next` of the previous page", [
    { path: ["cursor"], message: "not a cursor this API issued" },
  ]);
}

/** The fields a listing reads: all but `input`, which may hold a selection of many ids. */
const LISTED = jobDocSchema.omit({ input: true });
const LISTED_FIELDS = Object.keys(LISTED.shape);

/** The owner's jobs, newest first, one bounded page at a time. */
export async function listJobs(
  deps: StoreDeps,
  owner: string,
  page: { limit?: number | undefined; cursor?: string | undefined },
): Promise<{ jobs: Job[]; next: string | null }> {
  const limit = Math.min(page.limit ?? DEFAULT_JOB_PAGE, MAX_JOB_PAGE);
  let query = jobsRef(deps.db)
    .where("owner", "==", owner.toLowerCase())
    .orderBy("createdAt", "desc")
    .orderBy("__name__", "desc")
    .select(...LISTED_FIELDS)
    .limit(limit + 1);
  if (page.cursor !== undefined) {
    const [ms, id] = decodeCursor(page.cursor);
    query = query.startAfter(Timestamp.fromMillis(ms), id);
  }
  const snap = await query.get();
  const jobs = await Promise.all(
    snap.docs.slice(0, limit).map(async (d) => {
      const parsed = LISTED.safeParse(d.data());
      if (!parsed.success) throw new ApiError("internal", `Job ${d.id} is malformed`);
      return toJob(d.id, await settleStale(deps, d.id, parsed.data));
    }),
  );
  return { jobs, next: snap.docs.length > limit ? encodeCursor(jobs[jobs.length - 1]!) : null };
}

/**
 * Asks a job to stop. A queued job is cancelled at once (its runner then finds nothing to do);
 * a running one gets `cancelRequested`, which its runner checks between items, unless it is
 * stale (no runner left to see the request), which ends cancelled at once too. Cancelling a
 * cancelled job changes nothing; a job that already finished otherwise is a conflict.
 */
export async function cancelJob(deps: StoreDeps, viewer: JobViewer, id: string): Promise<Job> {
  const ref = jobsRef(deps.db).doc(id);
  return deps.db.runTransaction(async (tx) => {
    const doc = parseJob(await tx.get(ref));
    if (!visible(doc, viewer)) throw missing(id);
    if (doc.state === "cancelled") return toJob(id, doc);
    if (FINAL_STATES.includes(doc.state)) throw conflict(`Job ${id} already ended (${doc.state})`);
    const now = Timestamp.fromDate(deps.now());
    const change: Partial<JobDoc> =
      doc.state === "queued" || isStale(doc, now.toMillis())
        ? { state: "cancelled", cancelRequested: true, updatedAt: now, finishedAt: now }
        : { cancelRequested: true, updatedAt: now };
    tx.update(ref, change);
    return toJob(id, { ...doc, ...change });
  });
}
