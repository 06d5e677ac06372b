/**
 * Versions of a dataset's annotations. The dataset's current `tag` (clio_datasets) is HEAD. When
 * `POST /v2/datasets` moves the tag, the moment is recorded in `clio_dataset_tags/{ds}/tags/{tag}`,
 * and `version=<that tag>` reads every record as it was then. Tags known only from clio's
 * `clio_annotations_global/metadata` (the 2021–22 scripts) are read by `_version`, as clio did.
 */
import { FieldValue, Timestamp, type Firestore, type Transaction } from "firebase-admin/firestore";
import { badRequest, notFound } from "../../errors.js";
import { datasetMetadata, tagMove, type DatasetMetadata } from "../../schemas/json-annotations.js";
import { ANNOTATIONS_GLOBAL, ANNOTATION_TYPE, versionNumber } from "./layout.js";

export const TAG_HISTORY = "clio_dataset_tags";
const MAX_TAGS = 1000;

export interface DatasetVersions {
  headTag: string | undefined;
  headUuid: string | undefined;
  /** tag → uuid ("" when unknown). */
  tagToUuid: Map<string, string>;
  /** tag → when the dataset moved past it (epoch ms). */
  movedAt: Map<string, number>;
  /** Tags the dataset moved to and has not left: HEAD, even where the cached dataset lags. */
  current: Set<string>;
  metadata: DatasetMetadata;
}

export type ReadAt = { kind: "head" } | { kind: "time"; ms: number } | { kind: "version"; version: number };

function tagDoc(db: Firestore, dataset: string, tag: string) {
  return db.collection(TAG_HISTORY).doc(dataset).collection("tags").doc(encodeURIComponent(tag));
}

/** Called inside POST /v2/datasets' transaction when a dataset's tag changes. */
export function recordTagMove(
  tx: Transaction,
  db: Firestore,
  dataset: string,
  from: { tag: string; uuid?: string | undefined },
  to: string,
): void {
  tx.set(tagDoc(db, dataset, from.tag), {
    tag: from.tag,
    ...(from.uuid ? { uuid: from.uuid } : {}),
    next: to,
    until: FieldValue.serverTimestamp(),
  });
}

function untilMs(until: unknown): number | undefined {
  if (until instanceof Timestamp) return until.toMillis();
  if (typeof until === "number") return until;
  if (typeof until === "string" && !Number.isNaN(Date.parse(until))) return Date.parse(until);
  return undefined;
}

export async function readMetadata(db: Firestore, dataset: string): Promise<DatasetMetadata> {
  const snap = await db.collection(ANNOTATIONS_GLOBAL).doc("metadata").get();
  const all = snap.get(ANNOTATION_TYPE) as Record<string, unknown> | undefined;
  if (!all || typeof all !== "object" || !Object.hasOwn(all, dataset)) return {};
  const parsed = datasetMetadata.safeParse(all[dataset]);
  return parsed.success ? parsed.data : {};
}

export async function datasetVersions(
  db: Firestore,
  dataset: string,
  current: { tag?: string | undefined; uuid?: string | undefined },
): Promise<DatasetVersions> {
  const [metadata, moves] = await Promise.all([
    readMetadata(db, dataset),
    db.collection(TAG_HISTORY).doc(dataset).collection("tags").limit(MAX_TAGS).get(),
  ]);
  const tagToUuid = new Map<string, string>(Object.entries(metadata.tag_to_uuid ?? {}));
  for (const [uuid, tag] of Object.entries(metadata.uuid_to_tag ?? {}))
    if (!tagToUuid.has(tag)) tagToUuid.set(tag, uuid);
  const movedAt = new Map<string, number>();
  for (const doc of moves.docs) {
    const move = tagMove.safeParse(doc.data());
    if (!move.success) continue;
    const ms = untilMs(move.data.until);
    if (ms !== undefined) movedAt.set(move.data.tag, ms);
    if (!tagToUuid.get(move.data.tag)) tagToUuid.set(move.data.tag, move.data.uuid ?? "");
  }
  const nexts = new Set<string>();
  for (const doc of moves.docs) {
    const next = tagMove.safeParse(doc.data());
    if (next.success && next.data.next) nexts.add(next.data.next);
  }
  const headTag = current.tag ?? metadata.head_tag;
  const latest = new Set([...nexts].filter((t) => !movedAt.has(t)));
  if (headTag !== undefined && !movedAt.has(headTag)) latest.add(headTag);
  const headUuid = current.uuid ?? metadata.head_uuid;
  if (headTag !== undefined && !tagToUuid.get(headTag)) tagToUuid.set(headTag, headUuid ?? "");
  return { headTag, headUuid, tagToUuid, movedAt, current: latest, metadata };
}

/** Tags whose uuid starts with `uuid` or is a prefix of it (clio matched prefixes both ways). */
export function tagsOfUuid(versions: DatasetVersions, uuid: string): string[] {
  const tags = new Set<string>();
  for (const [tag, u] of versions.tagToUuid)
    if (u && (u.startsWith(uuid) || uuid.startsWith(u))) tags.add(tag);
  return [...tags];
}

/** Where a read with `version` looks (C.2): HEAD, the moment a tag was left, or clio's `_version`. */
export function resolveRead(versions: DatasetVersions, dataset: string, version: string | undefined): ReadAt {
  if (version === undefined || version === "" || versions.current.has(version)) return { kind: "head" };
  let tag = version;
  if (!versions.tagToUuid.has(tag) && !versions.movedAt.has(tag)) {
    const tags = tagsOfUuid(versions, version);
    if (tags.length !== 1) throw badRequest(`Bad version ${version} used for dataset ${dataset}`);
    tag = tags[0]!;
    if (versions.current.has(tag)) return { kind: "head" };
  }
  const ms = versions.movedAt.get(tag);
  if (ms !== undefined) return { kind: "time", ms };
  const number = versionNumber(tag);
  if (number === 0) throw badRequest(`Bad version ${version} used for dataset ${dataset}`);
  return { kind: "version", version: number };
}

/** Writes go to HEAD only: no version, an empty one, or the current tag (or its uuid). */
export function assertHeadWrite(
  versions: DatasetVersions,
  dataset: string,
  version: string | undefined,
): void {
  if (version === undefined || version === "" || versions.current.has(version)) return;
  if (versions.headUuid && version === versions.headUuid) return;
  throw badRequest(
    `Writes go to the HEAD version ${versions.headTag ?? "(untagged)"} of dataset ${dataset}, not ${version}`,
  );
}

export function uuidToTag(versions: DatasetVersions, uuid: string): string {
  const tags = tagsOfUuid(versions, uuid);
  if (tags.length > 1) throw badRequest(`uuid ${uuid} is ambiguous: ${tags.sort().join(", ")}`);
  if (tags.length === 0) throw notFound(`No version with uuid ${uuid}`);
  return tags[0]!;
}
