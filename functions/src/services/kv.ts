/**
 * The per-user key-value store. Values are JSON objects stamped with `_timestamp`; the stamp is
 * hidden from readers unless they ask for it. Firestore refuses documents over 1 MiB with an
 * opaque error, so sizes are computed with Firestore's own formula and refused up front with 413.
 */
import type { DocumentData, DocumentReference, Firestore } from "firebase-admin/firestore";
import { ApiError, notFound } from "../errors.js";
import type { Root } from "./root.js";
import { firestorePages, type PageReader } from "../store/pages.js";
import { assertFitsDocument } from "../store/document-size.js";

/** What this service needs of the composition root. */
type Needs = Pick<Root, "db" | "now">;

export const KEYVALUE = "clio_keyvalue";
export const TIMESTAMP_FIELD = "_timestamp";
/** Per-user storage usage: `{kvKeys}` (issue 12). */
export const KV_USAGE = "neurofire_usage";
export function kvRef(db: Firestore, email: string, scope: string, key: string): DocumentReference {
  return db.collection(KEYVALUE).doc(email).collection(scope).doc(key);
}

/** Drops the stamp unless the caller asked to see it. */
export function presentValue(data: DocumentData, withTimestamp: boolean): DocumentData {
  if (withTimestamp) return data;
  const { [TIMESTAMP_FIELD]: _stamp, ...rest } = data;
  return rest;
}

export function nowSeconds(deps: Needs): number {
  return deps.now().getTime() / 1000;
}

export function kvScopePages(deps: Needs, email: string, scope: string, withTimestamp: boolean): PageReader {
  const query = deps.db.collection(KEYVALUE).doc(email).collection(scope);
  return firestorePages(query, (id, data) => ({ key: id, value: presentValue(data, withTimestamp) }));
}

export async function readKv(
  deps: Needs,
  email: string,
  scope: string,
  key: string,
  withTimestamp: boolean,
): Promise<DocumentData> {
  const snap = await kvRef(deps.db, email, scope, key).get();
  const data = snap.data();
  if (!data) throw notFound(`kv/${scope}/${key} does not exist`);
  return presentValue(data, withTimestamp);
}

export async function writeKv(
  deps: Needs & Pick<Root, "config">,
  email: string,
  scope: string,
  key: string,
  value: DocumentData,
): Promise<void> {
  const ref = kvRef(deps.db, email, scope, key);
  const data = { ...value, [TIMESTAMP_FIELD]: nowSeconds(deps) };
  assertFitsDocument(ref, data, `kv/${scope}/${key}`);
  // issue 12 (M3): keys per user are capped; the count lives in one usage document per user,
  // kept in the same transaction as the write so concurrent writes cannot pass the cap.
  const usage = deps.db.collection(KV_USAGE).doc(email);
  const cap = deps.config.kvMaxKeysPerUser;
  await deps.db.runTransaction(async (tx) => {
    const [existing, counted] = await tx.getAll(ref, usage);
    if (!existing!.exists) {
      const keys = usedKeys(counted!.data());
      if (keys >= cap)
        throw new ApiError(
          "resource_exhausted",
          `KV holds at most ${cap} keys per user (KV_MAX_KEYS_PER_USER); delete some first`,
        );
      tx.set(usage, { kvKeys: keys + 1 }, { merge: true });
    }
    tx.set(ref, data);
  });
}

export async function deleteKv(deps: Needs, email: string, scope: string, key: string): Promise<void> {
  const ref = kvRef(deps.db, email, scope, key);
  const usage = deps.db.collection(KV_USAGE).doc(email);
  await deps.db.runTransaction(async (tx) => {
    const [existing, counted] = await tx.getAll(ref, usage);
    if (!existing!.exists) return;
    tx.delete(ref);
    tx.set(usage, { kvKeys: Math.max(0, usedKeys(counted!.data()) - 1) }, { merge: true });
  });
}

/** Keys counted so far (keys written before the count existed are not in it). */
function usedKeys(data: DocumentData | undefined): number {
  const n: unknown = data?.kvKeys;
  return typeof n === "number" && Number.isInteger(n) && n >= 0 ? n : 0;
}
