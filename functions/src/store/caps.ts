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
 * Throws `overCap` unless `owned` (the owner's documents of the store in the dataset) holds room
 * for `adding` more. In a transaction the count is read there, so the documents it matched stay
 * locked until the write commits.
 */
export async function assertRoom(
  owned: Query,
  adding: number,
  cap: number,
  refuse: () => ApiError,
  tx?: Transaction,
): Promise<void> {
  if (adding <= 0) return;
  const aggregate = owned.count();
  const snap = tx ? await tx.get(aggregate) : await aggregate.get();
  if (snap.data().count + adding > cap) throw refuse();
}
