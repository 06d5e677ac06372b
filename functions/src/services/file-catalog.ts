/**
 * The file catalog: one Firestore document per object under a dataset's prefix, at
 * `file_catalog/{dataset}/objects/{encoded path}`, so listing and search never walk the bucket.
 *
 * A crawl lists the prefix and compares generations with what is recorded: an unchanged
 * generation is neither read nor rewritten, a new or changed one is recorded (metadata.json
 * parsed, HDF5/NWB header read with range reads), and a recorded object that is no longer listed
 * is marked deleted. Deletions are marked only after a complete listing, so a crawl killed
 * halfway loses nothing and the next run simply finishes the work. Every write carries a
 * precondition on what the crawl read, and the storage triggers compare generations, so a crawl
 * racing a trigger never puts an older generation back.
 *
 * Memory: a crawl keeps (id, generation) of the dataset's recorded objects, about 100 bytes per
 * object, and streams the listing a page at a time.
 */
import {
  FieldPath,
  Timestamp,
  type DocumentData,
  type Firestore,
  type Query,
  type QueryDocumentSnapshot,
} from "firebase-admin/firestore";
import type { Storage } from "@google-cloud/storage";
import type { Root } from "./root.js";
import {
  approxBytes,
  DEFAULT_PAGE_MAX_BYTES,
  markCut,
  type ListItem,
  type PageReader,
} from "../store/pages.js";
import type { Logger } from "../log.js";
import type { CatalogEntry } from "../schemas/files.js";
import { simpleWords } from "../search/tokenize.js";
import { readHdf5Header, type Hdf5Header } from "../storage/hdf5.js";
import { listObjects, rangeReader, readObject, type ObjectInfo } from "../storage/objects.js";
import { locationOf, type FileLocation } from "./files.js";

export const CATALOG = "file_catalog";
/** metadata.json files larger than this are recorded but not parsed. */
export const MAX_METADATA_BYTES = 512 * 1024;
const MAX_TERMS = 400;
const HDF5_NAME = /\.(nwb|h5|hdf5)$/i;

/** gRPC status codes of the precondition failures that mean "someone else wrote first". */
const GRPC_ALREADY_EXISTS = 6;
const GRPC_FAILED_PRECONDITION = 9;

export interface CatalogDeps {
  db: Firestore;
  storage: Storage;
  now: () => Date;
  log: Logger;
}

export interface CrawlStats {
  dataset: string;
  listed: number;
  added: number;
  updated: number;
  unchanged: number;
  deleted: number;
  /** Writes skipped because a trigger changed the document meanwhile. */
  conflicts: number;
}

/** Stored form: metadata.json as text, search terms, bookkeeping. */
interface StoredEntry extends Omit<CatalogEntry, "metadata"> {
  metadataText: string | null;
  terms: string[];
  indexedAt: string;
}

export function objectsOf(db: Firestore, dataset: string) {
  return db.collection(CATALOG).doc(dataset).collection("objects");
}

/**
 * Document ids keep the order and prefixes of paths (percent-encoding maps each character on
 * its own), so a prefix listing is a key range. The rare path too long for an id is hashed.
 */
export function docId(path: string): string {
  const id = encodeURIComponent(path).replaceAll(".", "%2E").replaceAll("_", "%5F");
  return Buffer.byteLength(id) <= 1400 ? id : `~${Buffer.from(path).toString("base64url").slice(0, 1300)}`;
}

/**
 * Words of a path, a metadata value or a query, by the catalog search's tokenizer: case and
 * diacritics folded, so `Ångström` matches `angstrom`. Only simple words (a stored path's words
 * are what a query's must match), and no one-letter ones, which would make huge scans.
 */
export function tokenize(text: string): string[] {
  return simpleWords(text).filter((t) => t.length >= 2);
}

function collectStrings(value: unknown, out: string[], depth = 0): void {
  if (out.length > MAX_TERMS || depth > 8) return;
  if (typeof value === "string" || typeof value === "number") out.push(String(value));
  else if (Array.isArray(value)) for (const v of value) collectStrings(v, out, depth + 1);
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      collectStrings(v, out, depth + 1);
    }
  }
}

function termsOf(path: string, metadata: unknown, hdf5: Hdf5Header | null): string[] {
  const texts = [path];
  collectStrings(metadata, texts);
  collectStrings(hdf5, texts);
  return [...new Set(texts.flatMap(tokenize))].slice(0, MAX_TERMS);
}

function newer(a: string, b: string): boolean {
  return BigInt(a) > BigInt(b);
}

/** Builds the record of one object, reading metadata.json whole and HDF5 headers by ranges. */
async function buildEntry(deps: CatalogDeps, location: FileLocation, info: ObjectInfo): Promise<StoredEntry> {
  const path = info.name.slice(location.prefix.length);
  const slash = path.indexOf("/");
  let metadataText: string | null = null;
  let metadata: unknown;
  let hdf5: Hdf5Header | null = null;
  let extractError: string | null = null;
  const base = path.slice(path.lastIndexOf("/") + 1);
  try {
    if (base === "metadata.json") {
      if (info.size > MAX_METADATA_BYTES)
        extractError = `metadata.json is larger than ${MAX_METADATA_BYTES} bytes`;
      else {
        const text = (await readObject(deps.storage, info)).toString("utf8");
        metadata = JSON.parse(text);
        metadataText = text;
      }
    } else if (HDF5_NAME.test(base) && info.size > 0) {
      hdf5 = (await readHdf5Header(rangeReader(deps.storage, info), info.size)).header;
    }
  } catch (err) {
    extractError = err instanceof Error ? err.message.slice(0, 500) : String(err);
    deps.log.warn("file catalog: could not read contents", {
      dataset: location.dataset,
      path,
      error: extractError,
    });
  }
  return {
    dataset: location.dataset,
    bucket: info.bucket,
    path,
    experiment: slash > 0 ? path.slice(0, slash) : null,
    size: info.size,
    contentType: info.contentType,
    generation: info.generation,
    metageneration: info.metageneration,
    md5: info.md5,
    updated: info.updated,
    deleted: false,
    deletedAt: null,
    metadataText,
    hdf5,
    extractError,
    terms: termsOf(path, metadata, hdf5),
    indexedAt: deps.now().toISOString(),
  };
}

/** Objects that are folder placeholders ("a/b/") or the prefix itself are not files. */
function fileObject(location: FileLocation, info: ObjectInfo): boolean {
  return (
    info.name.startsWith(location.prefix) &&
    info.name.length > location.prefix.length &&
    !info.name.endsWith("/")
  );
}

/** Crawls one dataset's prefix into the catalog; safe to repeat and to interrupt. */
export async function crawlDataset(deps: CatalogDeps, location: FileLocation): Promise<CrawlStats> {
  const objects = objectsOf(deps.db, location.dataset);
  const known = new Map<string, { generation: string; deleted: boolean; updateTime: Timestamp }>();
  let after: string | undefined;
  for (;;) {
    let q = objects.select("generation", "deleted").orderBy(FieldPath.documentId()).limit(1000);
    if (after !== undefined) q = q.startAfter(after);
    const snap = await q.get();
    for (const doc of snap.docs) {
      known.set(doc.id, {
        generation: String(doc.get("generation")),
        deleted: doc.get("deleted") === true,
        updateTime: doc.updateTime,
      });
    }
    if (snap.size < 1000) break;
    after = snap.docs[snap.size - 1]!.id;
  }

  const stats: CrawlStats = {
    dataset: location.dataset,
    listed: 0,
    added: 0,
    updated: 0,
    unchanged: 0,
    deleted: 0,
    conflicts: 0,
  };
  const writer = deps.db.bulkWriter();
  // No retries: every write carries a precondition, and one that fails means a trigger recorded a
  // newer state meanwhile, which must win. Any other failure fails the crawl (after the flush).
  writer.onWriteError(() => false);
  const pending: Promise<unknown>[] = [];
  const failures: unknown[] = [];
  const track = (p: Promise<unknown>, counter: "added" | "updated" | "deleted") =>
    pending.push(
      p.then(
        () => (stats[counter] += 1),
        (err: unknown) => {
          const code = (err as { code?: unknown }).code;
          if (code === GRPC_ALREADY_EXISTS || code === GRPC_FAILED_PRECONDITION) stats.conflicts += 1;
          else failures.push(err);
        },
      ),
    );

  const seen = new Set<string>();
  for await (const page of listObjects(deps.storage, location.bucket, location.prefix)) {
    for (const info of page) {
      if (!fileObject(location, info)) continue;
      stats.listed += 1;
      const id = docId(info.name.slice(location.prefix.length));
      seen.add(id);
      const prev = known.get(id);
      if (prev && !prev.deleted && prev.generation === info.generation) {
        stats.unchanged += 1;
        continue;
      }
      const entry = await buildEntry(deps, location, info);
      const ref = objects.doc(id);
      if (prev) track(writer.update(ref, { ...entry }, { lastUpdateTime: prev.updateTime }), "updated");
      else track(writer.create(ref, entry), "added");
    }
  }
  const deletedAt = deps.now().toISOString();
  for (const [id, prev] of known) {
    if (seen.has(id) || prev.deleted) continue;
    track(
      writer.update(objects.doc(id), { deleted: true, deletedAt }, { lastUpdateTime: prev.updateTime }),
      "deleted",
    );
  }
  await writer.close();
  await Promise.all(pending);
  if (failures.length > 0) {
    throw new Error(`${failures.length} file catalog writes failed`, { cause: failures[0] });
  }
  await deps.db
    .collection(CATALOG)
    .doc(location.dataset)
    .set({ lastCrawl: { ...stats, finishedAt: deps.now().toISOString() } }, { merge: true });
  return stats;
}

/** Crawls every dataset that has files; one failing dataset does not stop the others. */
export async function crawlAll(
  deps: CatalogDeps & { datasets: Root["datasets"]; filesBucket: string },
): Promise<CrawlStats[]> {
  const out: CrawlStats[] = [];
  for (const [id, dataset] of await deps.datasets.all()) {
    if (!dataset.files) continue;
    try {
      out.push(await crawlDataset(deps, locationOf(id, dataset.files, deps.filesBucket)));
    } catch (err) {
      deps.log.error("file catalog: crawl failed", {
        dataset: id,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
  return out;
}

/** The datasets whose prefix holds `name` in `bucket`. */
export async function locationsFor(
  datasets: Root["datasets"],
  filesBucket: string,
  bucket: string,
  name: string,
): Promise<FileLocation[]> {
  const out: FileLocation[] = [];
  for (const [id, dataset] of await datasets.all()) {
    if (!dataset.files) continue;
    const location = locationOf(id, dataset.files, filesBucket);
    if (location.bucket === bucket && name.startsWith(location.prefix)) out.push(location);
  }
  return out;
}

/** A storage finalize event: records the new generation unless a newer one is already there. */
export async function recordFinalized(
  deps: CatalogDeps,
  location: FileLocation,
  info: ObjectInfo,
): Promise<boolean> {
  if (!fileObject(location, info)) return false;
  const entry = await buildEntry(deps, location, info);
  const ref = objectsOf(deps.db, location.dataset).doc(docId(entry.path));
  return deps.db.runTransaction(async (tx) => {
    const snap = await tx.get(ref);
    const stored = snap.data();
    if (stored) {
      const generation = String(stored.generation);
      if (newer(generation, info.generation)) return false;
      if (generation === info.generation && stored.deleted !== true) return false;
    }
    tx.set(ref, entry);
    return true;
  });
}

/**
 * A storage delete event. An overwrite in a bucket without versioning also deletes the old
 * generation, so only a record of that very generation (or an older one) is marked deleted.
 */
export async function recordDeleted(
  deps: CatalogDeps,
  location: FileLocation,
  object: { name: string; generation: string },
): Promise<boolean> {
  if (!object.name.startsWith(location.prefix)) return false;
  const ref = objectsOf(deps.db, location.dataset).doc(docId(object.name.slice(location.prefix.length)));
  return deps.db.runTransaction(async (tx) => {
    const snap = await tx.get(ref);
    const stored = snap.data();
    if (!stored || stored.deleted === true || newer(String(stored.generation), object.generation))
      return false;
    tx.update(ref, { deleted: true, deletedAt: deps.now().toISOString() });
    return true;
  });
}

/** What clients see of a stored record. */
export function presentEntry(data: DocumentData): CatalogEntry {
  const { metadataText, terms: _terms, indexedAt: _indexedAt, ...rest } = data as StoredEntry;
  const entry = rest as CatalogEntry;
  if (typeof metadataText === "string") entry.metadata = JSON.parse(metadataText) as unknown;
  return entry;
}

export interface CatalogQuery {
  prefix?: string | undefined;
  q?: string | undefined;
  includeDeleted?: boolean;
}

/** Most records scanned for one page of a search, so a rare term cannot make a page unbounded. */
export const MAX_SCAN = 5000;

/**
 * Pages of the catalog in path order. A prefix is a key range; `q` matches records holding every
 * term: Firestore narrows by one term (array-contains) and the rest are checked here.
 */
export function catalogPages(db: Firestore, dataset: string, query: CatalogQuery): PageReader {
  let base: Query = objectsOf(db, dataset);
  if (query.prefix) {
    const start = docId(query.prefix);
    base = base
      .where(FieldPath.documentId(), ">=", start)
      .where(FieldPath.documentId(), "<", `${start}\uffff`);
  }
  if (!query.includeDeleted) base = base.where("deleted", "==", false);
  const terms = [...new Set(tokenize(query.q ?? ""))].sort((a, b) => b.length - a.length);
  if (terms.length > 0) base = base.where("terms", "array-contains", terms[0]);
  const rest = terms.slice(1);
  return async (after, limit, maxBytes = DEFAULT_PAGE_MAX_BYTES) => {
    const items: ListItem[] = [];
    let cursor = after;
    let scanned = 0;
    let bytes = 0;
    while (items.length < limit && scanned < MAX_SCAN) {
      const batch = Math.max(limit, 100);
      let q = base.orderBy(FieldPath.documentId()).limit(batch);
      if (cursor !== undefined) q = q.startAfter(cursor);
      // Streamed and bounded in bytes (security review M1): entries carry metadata read from
      // writer-uploaded files, so a page holds one budget of them, not a batch.
      let read = 0;
      for await (const doc of q.stream() as AsyncIterable<QueryDocumentSnapshot>) {
        read += 1;
        const docTerms = (doc.get("terms") as string[] | undefined) ?? [];
        if (rest.every((t) => docTerms.includes(t))) {
          if (bytes >= maxBytes) return markCut(items);
          const data = doc.data();
          items.push({ key: doc.id, value: presentEntry(data), position: doc.id });
          bytes += approxBytes(data) + doc.id.length;
          if (items.length >= limit) return items;
        }
        cursor = doc.id;
        scanned += 1;
      }
      if (read < batch) break;
    }
    return items;
  };
}
