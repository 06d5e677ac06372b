/**
 * Per-user storage caps (issue 12, security review M1/M3): a user may hold at most so many
 * documents of a store per dataset (USER_STORAGE_CAPS), so one account cannot fill a dataset with
 * millions of ~1 MiB documents that other users then list. Counting is one aggregation query
 * (billed one read per 1,000 documents counted), and only writes that may create documents pay it.
 */
import type { Query, Transaction } from "firebase-admin/firestore";
import { ApiError } from "../errors.js";
import type { Config } from "../config.js";

export type CappedStore = keyof Config["userStorageCaps"];

const LABEL: Record<CappedStore, string> = {
  annotations: "annotations",
  annotationsv1: "v1 annotations",
  atlas: "atlas points",
  savedsearches: "saved searches",
};

/** The 429 a write past the cap gets: it names the cap and the param that sets it. */
export function overCap(store: CappedStore, cap: number, dataset: string, owner: string): ApiError {
  return new ApiError(
    "resource_exhausted",
    `${owner} may store at most ${cap} ${LABEL[store]} in dataset ${dataset} ` +
      `(USER_STORAGE_CAPS ${store}=${cap}); delete some first`,
  );
}

/**
 * Recent counts per (store, owner, dataset) on this instance, so a user far below a cap is not
 * counted on every write: counting is an aggregation whose cost grows with what the user holds.
 * A count is trusted for `maxAgeMs` and only while it, plus everything this instance let through
 * since, stays at or under half the cap; writes of other instances within that time are what can
 * go unseen, so the cap holds exactly near it and within a minute's writes far below it.
 * Overwrites and failed writes count as additions and deletes are ignored: both only make the
 * cached figure higher, which means counting again sooner, never passing the cap.
 */
export class CapCounts {
  private readonly counts = new Map<string, { count: number; at: number }>();
  constructor(
    private readonly maxAgeMs = 60_000,
    private readonly maxEntries = 10_000,
  ) {}

  /** A count of at most `maxAgeMs` ago plus what was added since, if there is one. */
  recent(key: string, nowMs: number): number | undefined {
    const entry = this.counts.get(key);
    if (!entry) return undefined;
    if (nowMs - entry.at > this.maxAgeMs) {
      this.counts.delete(key);
      return undefined;
    }
    return entry.count;
  }

  counted(key: string, count: number, nowMs: number): void {
    this.counts.delete(key);
    if (this.counts.size >= this.maxEntries) this.counts.delete(this.counts.keys().next().value!);
    this.counts.set(key, { count, at: nowMs });
  }

  added(key: string, n: number): void {
    const entry = this.counts.get(key);
    if (entry) entry.count += n;
  }
}

export interface CapCheck {
  max: number;
  /** Names the counted set in `counts`: store, dataset and owner. */
  key: string;
  refuse: () => ApiError;
  /** The instance's recent counts (optional: without it every check counts). */
  counts?: CapCounts;
  nowMs?: number;
}

/**
 * Throws `refuse()` unless `owned` (the owner's documents of the store in the dataset) holds room
 * for `adding` more. In a transaction the count is read there, so the documents it matched stay
 * locked until the write commits.
 */
export async function assertRoom(
  owned: Query,
  adding: number,
  cap: CapCheck,
  tx?: Transaction,
): Promise<void> {
  if (adding <= 0) return;
  const { key } = cap;
  const now = cap.nowMs ?? Date.now();
  const known = cap.counts?.recent(key, now);
  if (known !== undefined && known + adding <= cap.max / 2) {
    cap.counts!.added(key, adding);
    return;
  }
  const aggregate = owned.count();
  const count = (tx ? await tx.get(aggregate) : await aggregate.get()).data().count;
  cap.counts?.counted(key, count, now);
  if (count + adding > cap.max) throw cap.refuse();
  cap.counts?.added(key, adding);
}
