/**
 * The Firestore layout, clio's 2021–22 one as it is (clio-store-api.md §4.4b), so an existing
 * clio database is served without migration:
 *
 * - `clio_annotations_global/neurons/{dataset}/id{bodyid}`: HEAD, user fields plus `_head: true`,
 *   `_version` (tag vA.B.C as A·10⁶+B·10³+C), `_timestamp` (seconds), `_user`, and the archive
 *   chain `_archived_versions[]`/`_archived_keys[]`, newest first;
 * - `clio_annotations_global/neurons/{dataset}/{autoId}`: archive, a copy of an earlier HEAD with
 *   `_head: false` and without the chain.
 *
 * neurofire adds `_updated` (the commit time, a server timestamp: the replica follows it and old
 * versions are read by it) and `_deleted` (a deleted record's HEAD becomes a tombstone, so its
 * history stays reachable). The body id is exact in the document id; the `bodyid` field is an
 * int64 (a string above 2^63-1, which Firestore integers cannot hold).
 */
import { Timestamp, type DocumentData, type Firestore } from "firebase-admin/firestore";
import { storedMeta } from "../../schemas/json-annotations.js";
import type { Fields } from "./records.js";

export const ANNOTATIONS_GLOBAL = "clio_annotations_global";
export const ANNOTATION_TYPE = "neurons";

export function recordsCollection(db: Firestore, dataset: string) {
  return db.collection(ANNOTATIONS_GLOBAL).doc(ANNOTATION_TYPE).collection(dataset);
}

export function headId(bodyid: string): string {
  return `id${bodyid}`;
}

export function bodyIdOfHead(docId: string): string | undefined {
  const m = /^id(\d{1,20})$/.exec(docId);
  return m ? BigInt(m[1]!).toString() : undefined;
}

/** The bodyid field as stored: an int64 where it fits (the SDK writes a bigint exactly). */
export function storedBodyId(bodyid: string): number | bigint | string {
  const id = BigInt(bodyid);
  if (id <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(id);
  return id <= 9223372036854775807n ? id : bodyid;
}

export interface Meta {
  head: boolean;
  version: number;
  /** When this state was written (commit time; legacy documents: `_timestamp`), epoch ms. */
  ms: number;
  user: string | undefined;
  deleted: boolean;
  archivedVersions: number[];
  archivedKeys: string[];
}

export interface State {
  fields: Fields;
  meta: Meta;
}

function toMs(updated: unknown, timestamp: number | undefined): number {
  if (updated instanceof Timestamp) return updated.toMillis();
  return timestamp === undefined ? 0 : Math.round(timestamp * 1000);
}

/** Splits a stored document into user fields (no `bodyid`, no `_` fields) and its metadata. */
export function decodeState(data: DocumentData): State {
  const m = storedMeta.parse(data);
  const fields: Fields = {};
  for (const [k, v] of Object.entries(data)) if (!k.startsWith("_") && k !== "bodyid") fields[k] = v;
  return {
    fields,
    meta: {
      head: m._head === true,
      version: m._version ?? 0,
      ms: toMs(m._updated, m._timestamp),
      user: m._user,
      deleted: m._deleted === true,
      archivedVersions: m._archived_versions ?? [],
      archivedKeys: m._archived_keys ?? [],
    },
  };
}

/** `vA.B.C` → A·10⁶ + B·10³ + C, as clio stored `_version`; 0 when the tag is not of that form. */
export function versionNumber(tag: string | undefined): number {
  const m = tag ? /^v(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(tag) : null;
  if (!m) return 0;
  return Number(m[1]) * 1_000_000 + Number(m[2] ?? 0) * 1_000 + Number(m[3] ?? 0);
}
