/**
 * `/v2/json-annotations/{dataset}/neurons`: per-body ("neuron") annotation records, keyed by a
 * uint64 body id. Body ids never pass through a JS number above 2^53: in paths and queries they
 * are decimal strings, in bodies they are parsed exactly (services/json-annotations/exact-json.ts)
 * into a number (safe range) or a bigint.
 */
import { z } from "zod";
import { datasetId, queryBool } from "./common.js";

/** The largest uint64; 0 is reserved by DVID. */
export const MAX_BODY_ID = 18446744073709551615n;

/** A body id as canonical decimal text (no leading zeros), or undefined when it is not one. */
export function canonicalBodyId(value: unknown): string | undefined {
  let text: string;
  if (typeof value === "bigint") text = value.toString();
  else if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) return undefined;
    text = String(value);
  } else if (typeof value === "string" && /^\d{1,20}$/.test(value)) text = value;
  else return undefined;
  const id = BigInt(text);
  return id > 0n && id <= MAX_BODY_ID ? id.toString() : undefined;
}

const bodyIdText = z.string().transform((s, ctx) => {
  const id = canonicalBodyId(s);
  if (id === undefined) {
    ctx.addIssue({ code: "custom", message: `${JSON.stringify(s)} is not a body id (an integer 1..2^64-1)` });
    return z.NEVER;
  }
  return id;
});

export const neuronsParams = z.object({ dataset: datasetId });
export const idNumberParams = z.object({
  dataset: datasetId,
  ids: z
    .string()
    .max(40_000)
    .transform((s) => s.split(",").filter((x) => x !== ""))
    .pipe(z.array(bodyIdText).min(1, { error: "name at least one body id" }).max(10_000)),
});
export const oneIdParams = z.object({ dataset: datasetId, id: bodyIdText });
export const tagParams = z.object({ dataset: datasetId, tag: z.string().min(1).max(128) });
export const uuidParams = z.object({ dataset: datasetId, uuid: z.string().min(1).max(128) });

const fieldName = z.string().regex(/^[^_.][^.]{0,127}$/, {
  error: "field names are 1-128 characters, without '.', not starting with '_'",
});

/** `show`: which stamp fields (`<field>_user`, `<field>_time`) a read returns. */
export const showSchema = z.preprocess(
  (v) => (typeof v === "string" ? v.toLowerCase() : v),
  z.enum(["none", "user", "time", "all", ""], { error: "show is none, user, time or all" }),
);
export type Show = "none" | "user" | "time" | "all" | "";

const fieldList = z
  .string()
  .max(8192)
  .transform((s) => s.split(",").filter((x) => x !== ""))
  .pipe(z.array(fieldName).max(512));

/** Query keys of reads; clients' `changes=false`, `id_field=bodyid`, `app=…` are known or ignored. */
export const readQuery = z.strictObject({
  version: z.string().max(128).optional(),
  show: showSchema.optional(),
  fields: fieldList.optional(),
  onlyid: queryBool.optional(),
  changes: queryBool.optional(),
});
export type ReadQuery = z.infer<typeof readQuery>;

export const writeQuery = z.strictObject({
  version: z.string().max(128).optional(),
  replace: queryBool.optional(),
  conditional: fieldList.optional(),
  // malevnc sends `designated_user=` when there is none.
  designated_user: z.string().max(254).optional(),
});

export const versionQuery = z.strictObject({});

/** A record as written: any JSON fields; `bodyid` is checked by the service (exact id). */
export const MAX_RECORDS_PER_WRITE = 5000;

export const recordOut = z.looseObject({ bodyid: z.union([z.number(), z.bigint()]) });
export const recordsOut = z.array(recordOut);
export const versionsOut = z.record(z.string(), z.string());

/**
 * The stored HEAD or archive document of the 2021–22 layout `clio_annotations_global/neurons/{ds}`:
 * user fields plus the reserved `_`-prefixed ones. neurofire adds `_updated` (commit time) and
 * `_deleted` (a tombstone keeps the history of a deleted record).
 */
export const storedMeta = z.object({
  _head: z.boolean().optional(),
  _version: z.number().optional(),
  _timestamp: z.number().optional(),
  _user: z.string().optional(),
  _updated: z.unknown().optional(),
  _deleted: z.boolean().optional(),
  _archived_versions: z.array(z.number()).optional(),
  _archived_keys: z.array(z.string()).optional(),
});

/** `clio_annotations_global/metadata` → `neurons.{ds}`, maintained by scripts in clio. */
export const datasetMetadata = z.object({
  fields: z.array(z.string()).optional(),
  tag_to_uuid: z.record(z.string(), z.string()).optional(),
  uuid_to_tag: z.record(z.string(), z.string()).optional(),
  head_tag: z.string().optional(),
  head_uuid: z.string().optional(),
});
export type DatasetMetadata = z.infer<typeof datasetMetadata>;

/** `clio_dataset_tags/{ds}/tags/{tag}`: when the dataset moved past `tag` (written by POST /v2/datasets). */
export const tagMove = z.object({
  tag: z.string(),
  uuid: z.string().optional(),
  next: z.string().optional(),
  /** Firestore Timestamp, or an ISO string / epoch ms in hand-written seeds. */
  until: z.unknown(),
});
