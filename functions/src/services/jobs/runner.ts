/**
 * Runs one job: claims it (queued → running, in a transaction, so a redelivered trigger event
 * does nothing), runs its kind's work with a progress reporter, and writes the final state.
 *
 * Progress is written at most once a second per job (by the injected clock): a job over 10,000
 * files would otherwise cost 10,000 writes and flood its listeners. Values only ever grow. The
 * same once-a-second step reads `cancelRequested`, so a cancel reaches the work within a second
 * of its next item; the work stops between items and the job ends "cancelled". The final state is
 * always written, whatever the throttle.
 */
import { Timestamp, type DocumentReference, type Firestore } from "firebase-admin/firestore";
import { ApiError } from "../../errors.js";
import type { Logger } from "../../log.js";
import type { JobDoc, JobKind, JobProgress, JobState } from "../../schemas/jobs.js";
import { jobsRef, parseJob } from "./store.js";

/** Minimum spacing of progress writes (and cancel checks) of one job. */
export const PROGRESS_INTERVAL_MS = 1000;

/** Thrown from `progress` once the owner asked the job to stop. */
export class JobCancelled extends Error {
  constructor() {
    super("cancelled by its owner");
    this.name = "JobCancelled";
  }
}

export interface JobContext {
  id: string;
  owner: string;
  dataset: string | null;
  input: Record<string, unknown>;
  /**
   * Reports `done` of `total` items; written when a second has passed since the last write.
   * Rejects with JobCancelled once a cancel has been seen: call it between items.
   */
  progress(done: number, total: number | null, message: string): Promise<void>;
  /** Aborted when a cancel is seen, for work that runs items in parallel. */
  signal: AbortSignal;
}

/** A kind's work: resolves to the job's result. */
export type JobWork = (ctx: JobContext) => Promise<Record<string, unknown>>;
export type JobKinds = Partial<Record<JobKind, JobWork>>;

export interface RunnerDeps {
  db: Firestore;
  now: () => Date;
  log: Logger;
}

export interface RunOutcome {
  /** The state the job ended in; undefined when this invocation did not run it. */
  state: JobState | undefined;
  /** Firestore writes this invocation made to the job document. */
  writes: number;
}

class Reporter {
  writes = 0;
  cancelled = false;
  readonly abort = new AbortController();
  private lastWriteMs: number;
  /** The progress write under way, so the final write is never overtaken by it. */
  private inflight: Promise<void> = Promise.resolve();
  latest: JobProgress;

  constructor(
    private readonly ref: DocumentReference,
    private readonly now: () => Date,
    start: JobProgress,
    startedMs: number,
  ) {
    this.latest = start;
    this.lastWriteMs = startedMs;
  }

  private seeCancel(): never {
    this.cancelled = true;
    this.abort.abort(new JobCancelled());
    throw new JobCancelled();
  }

  async progress(done: number, total: number | null, message: string): Promise<void> {
    if (this.cancelled) this.seeCancel();
    const prev = this.latest;
    const doneNow = Math.max(prev.done, Math.max(0, Math.floor(done)));
    const fraction = total ? Math.min(1, doneNow / total) : prev.fraction;
    this.latest = {
      fraction: Math.max(prev.fraction, fraction),
      done: doneNow,
      total: total ?? prev.total,
      message: message.slice(0, 500),
    };
    const nowMs = this.now().getTime();
    if (nowMs - this.lastWriteMs < PROGRESS_INTERVAL_MS) return;
    // Taken before awaiting, so calls from parallel items cannot both write in one second.
    this.lastWriteMs = nowMs;
    const step = (async () => {
      const snap = await this.ref.get();
      if (snap.get("cancelRequested") === true) this.seeCancel();
      this.writes++;
      await this.ref.update({ progress: this.latest, updatedAt: Timestamp.fromMillis(nowMs) });
    })();
    this.inflight = step.catch(() => {});
    await step;
  }

  /** Settles once no progress write is under way. */
  settled(): Promise<void> {
    return this.inflight;
  }
}

/** A failure's reason as the owner reads it: our own errors' messages, nothing internal. */
function reasonOf(err: unknown, id: string): string {
  if (err instanceof ApiError) return err.message;
  return `Internal error while running job ${id}; the server log has the details`;
}

/** Claims and runs job `id` with the work of its kind. */
export async function runJob(deps: RunnerDeps, kinds: JobKinds, id: string): Promise<RunOutcome> {
  const ref = jobsRef(deps.db).doc(id);
  const claimed = await deps.db.runTransaction(async (tx) => {
    const doc = parseJob(await tx.get(ref));
    // Gone, already claimed by an earlier delivery of the event, or cancelled while queued.
    if (!doc || doc.state !== "queued") return undefined;
    const now = Timestamp.fromDate(deps.now());
    const change: Partial<JobDoc> = {
      state: "running",
      startedAt: now,
      updatedAt: now,
      progress: { ...doc.progress, message: "started" },
    };
    tx.update(ref, change);
    return { ...doc, ...change } as JobDoc;
  });
  if (!claimed) return { state: undefined, writes: 0 };

  const reporter = new Reporter(ref, deps.now, claimed.progress, claimed.startedAt!.toMillis());
  const finish = async (change: Partial<JobDoc>): Promise<RunOutcome> => {
    await reporter.settled();
    const now = Timestamp.fromDate(deps.now());
    await ref.update({ ...change, progress: reporter.latest, updatedAt: now, finishedAt: now });
    return { state: change.state, writes: reporter.writes + 2 };
  };

  const work = kinds[claimed.kind];
  if (!work) {
    deps.log.error("job kind has no runner", { id, kind: claimed.kind });
    return finish({ state: "failed", error: `This server cannot run ${claimed.kind} jobs` });
  }
  const ctx: JobContext = {
    id,
    owner: claimed.owner,
    dataset: claimed.dataset,
    input: claimed.input,
    progress: (done, total, message) => reporter.progress(done, total, message),
    signal: reporter.abort.signal,
  };
  try {
    const result = await work(ctx);
    const total = reporter.latest.total ?? reporter.latest.done;
    reporter.latest = { fraction: 1, done: Math.max(total, reporter.latest.done), total, message: "done" };
    return await finish({ state: "done", result, error: null });
  } catch (err) {
    if (reporter.cancelled || err instanceof JobCancelled) {
      reporter.latest = { ...reporter.latest, message: "cancelled" };
      return finish({ state: "cancelled", error: null });
    }
    deps.log.error("job failed", { id, kind: claimed.kind, error: String(err) });
    const error = reasonOf(err, id);
    reporter.latest = { ...reporter.latest, message: "failed" };
    return finish({ state: "failed", error });
  }
}
