/**
 * The catalog search index's lifecycle (design and figures: docs/catalog-search.md).
 *
 * - Build: after a completed harvest run (and on demand), read `catalog_records` a page at a time,
 *   map each record to a compact search document at once (the full record is dropped), build the
 *   BM25F index, serialize it to one blob.
 * - Publish: upload the blob under a new object name in CATALOG_BUCKET (never overwrite: an
 *   instance still downloading the previous blob must not get a mix), then point
 *   `catalog_index/current` at it (object, generation, md5, record count, builtAt) in a
 *   transaction that never moves the pointer back to an older build. Old blobs are deleted,
 *   except the one before, which instances may still be reading.
 * - Load: each instance reads the pointer at most every CATALOG_INDEX_CHECK_SECONDS and downloads
 *   the blob when the pointer names another one; until then, and if a refresh fails, the index
 *   it has keeps serving. With no bucket (or no pointer yet) an instance indexes a small catalog
 *   itself rather than answer nothing: that is what `npm start` and a fresh deployment see.
 *
 * Memory: records stream through `IndexBuilder` a page at a time and are dropped once added, so a
 * rebuild holds the compact postings, never the records (bench/catalog.ts measures the peak).
 */
import { randomUUID } from "node:crypto";
import type { Storage } from "@google-cloud/storage";
import { FieldPath, type Firestore } from "firebase-admin/firestore";
import type { Config } from "../../config.js";
import { ApiError } from "../../errors.js";
import type { Logger } from "../../log.js";
import {
  CATALOG_COLLECTIONS,
  catalogRecordSchema,
  toSearchDocument,
  type CatalogRecord,
} from "../../schemas/catalog.js";
import { indexPointerSchema, type IndexPointer } from "../../schemas/catalog-search.js";
import { createIndexLoader, IndexBuilder, SearchIndex, type SearchDocument } from "../../search/index.js";
import type { Root } from "../root.js";

export const INDEX_COLLECTION = "catalog_index";
export const INDEX_POINTER_DOC = "current";

/** Facets every index has (from `toSearchDocument`); `attributes.<key>` facets come and go with the data. */
export const CATALOG_FACETS = [
  "source",
  "kind",
  "species",
  "brainRegions",
  "cellTypes",
  "layers",
  "markers",
  "licence",
  "fileFormats",
  "status",
] as const;
export const ATTRIBUTE_FACET = /^attributes\.[A-Za-z0-9_.-]{1,64}$/;

/** Numeric sort keys besides relevance. */
export const CATALOG_SORTS = ["sourceModified", "harvestedAt"] as const;

/**
 * BM25F field weights: a word in the name says most about a record, then the controlled
 * vocabularies users filter by, then the free text.
 */
export const FIELD_WEIGHTS: Record<string, number> = {
  name: 3,
  cellTypes: 2,
  brainRegions: 2,
  species: 1.5,
  markers: 1.5,
  layers: 1,
  attributes: 1,
  sourceId: 1,
  description: 1,
  citations: 0.5,
};

/** Description text indexed per record; the rest adds little to ranking and much to memory. */
const MAX_INDEXED_DESCRIPTION = 4000;
const READ_PAGE = 1000;

export interface IndexDeps {
  db: Firestore;
  config: Pick<
    Config,
    | "projectId"
    | "storageApiEndpoint"
    | "storageSignerKeyFile"
    | "catalogBucket"
    | "catalogIndexPrefix"
    | "catalogIndexCheckSeconds"
    | "catalogLocalBuildMaxRecords"
  >;
  now: () => Date;
  log: Logger;
  /** The composition root's objects: the Storage client is its `storageClient`. */
  get: Root["get"];
}

const pointerRef = (db: Firestore) => db.collection(INDEX_COLLECTION).doc(INDEX_POINTER_DOC);

/** The root's Storage client, its module imported only when a blob is read or written. */
async function storageOf(deps: IndexDeps): Promise<Storage> {
  return deps.get((await import("../clients.js")).storageClient);
}

/** The search document of a record: the schema's mapping, plus sort keys and a bounded description. */
export function catalogSearchDocument(record: CatalogRecord): SearchDocument {
  const doc = toSearchDocument({
    ...record,
    description: record.description.slice(0, MAX_INDEXED_DESCRIPTION),
  });
  const sort: Record<string, number> = {};
  const modified = record.sourceModified ? Date.parse(record.sourceModified) : NaN;
  if (!Number.isNaN(modified)) sort.sourceModified = modified;
  const harvested = Date.parse(record.harvestedAt);
  if (!Number.isNaN(harvested)) sort.harvestedAt = harvested;
  return { ...doc, sort };
}

/**
 * Every record, read in document-id pages and parsed, so only one page of full records is in
 * memory at a time.
 */
export async function* catalogRecords(db: Firestore, pageSize = READ_PAGE): AsyncGenerator<CatalogRecord> {
  let after: string | undefined;
  for (;;) {
    let query = db.collection(CATALOG_COLLECTIONS.records).orderBy(FieldPath.documentId()).limit(pageSize);
    if (after !== undefined) query = query.startAfter(after);
    const snap = await query.get();
    for (const doc of snap.docs) yield catalogRecordSchema.parse(doc.data());
    if (snap.size < pageSize) return;
    after = snap.docs[snap.size - 1]!.id;
  }
}

/** Indexes records as they stream in; each is dropped once added. */
export async function indexRecords(
  records: AsyncIterable<CatalogRecord> | Iterable<CatalogRecord>,
): Promise<SearchIndex> {
  const builder = new IndexBuilder({ fields: FIELD_WEIGHTS, defaultFieldWeight: 1 });
  for await (const record of records) builder.add(catalogSearchDocument(record));
  return new SearchIndex(builder.finish());
}

/** Builds the index over the whole catalog as it is now. */
export function buildCatalogIndex(db: Firestore): Promise<SearchIndex> {
  return indexRecords(catalogRecords(db));
}

export async function readIndexPointer(db: Firestore): Promise<IndexPointer | null> {
  const snap = await pointerRef(db).get();
  return snap.exists ? indexPointerSchema.parse(snap.data()) : null;
}

/**
 * Builds the index and publishes it (see the module comment). Returns the pointer it wrote, or
 * the newer one it found (a build that started later has already been published).
 */
export async function publishCatalogIndex(deps: IndexDeps, trigger: string): Promise<IndexPointer> {
  const { db, config, log } = deps;
  const startedAt = deps.now();
  const t0 = performance.now();
  let index: SearchIndex | undefined = await buildCatalogIndex(db);
  const blob = index.serialize();
  const { size } = index;
  const { builtAt } = index.meta;
  index = undefined; // the blob holds it all; let the postings go before the upload
  const buildMs = Math.round(performance.now() - t0);
  let pointer: IndexPointer = {
    bucket: null,
    object: null,
    generation: null,
    md5: null,
    records: size,
    bytes: blob.byteLength,
    builtAt,
    startedAt: startedAt.toISOString(),
    buildMs,
    trigger,
  };
  if (config.catalogBucket) {
    const stamp = startedAt.toISOString().replace(/[-:.]/g, "");
    const name = `${config.catalogIndexPrefix}${stamp}-${randomUUID().slice(0, 8)}.bin`;
    const file = (await storageOf(deps)).bucket(config.catalogBucket).file(name);
    await file.save(blob, {
      resumable: false,
      contentType: "application/octet-stream",
      preconditionOpts: { ifGenerationMatch: 0 },
      metadata: { metadata: { records: String(size), builtAt, trigger } },
    });
    const [meta] = await file.getMetadata();
    pointer = {
      ...pointer,
      bucket: config.catalogBucket,
      object: name,
      generation: String(meta.generation),
      md5: meta.md5Hash ?? null,
    };
  }
  const written = await db.runTransaction(async (tx) => {
    const snap = await tx.get(pointerRef(db));
    const current = snap.exists ? indexPointerSchema.parse(snap.data()) : null;
    if (current && current.startedAt > pointer.startedAt) return current;
    tx.set(pointerRef(db), pointer);
    return pointer;
  });
  log.info("catalog index published", {
    records: pointer.records,
    bytes: pointer.bytes,
    buildMs,
    object: pointer.object,
    superseded: written !== pointer,
    trigger,
  });
  if (config.catalogBucket) {
    await deleteOldBlobs(deps, written, pointer).catch((err: unknown) =>
      log.warn("catalog index: could not delete old blobs", { error: String(err) }),
    );
  }
  return written;
}

/** Deletes index blobs other than the current one and the newest one before it. */
async function deleteOldBlobs(deps: IndexDeps, current: IndexPointer, mine: IndexPointer): Promise<void> {
  const { catalogBucket, catalogIndexPrefix } = deps.config;
  const bucket = (await storageOf(deps)).bucket(catalogBucket);
  const [files] = await bucket.getFiles({ prefix: catalogIndexPrefix });
  // Names start with the build's start time, so name order is age order.
  const names = files.map((f) => f.name).sort();
  const keep = new Set([current.object, mine.object]);
  const older = names.filter((n) => current.object !== null && n < current.object);
  const previous = older[older.length - 1];
  if (previous) keep.add(previous);
  for (const name of names) {
    if (keep.has(name) || (current.object !== null && name > current.object)) continue;
    await bucket.file(name).delete({ ignoreNotFound: true });
  }
}

export interface LoadedIndex {
  index: SearchIndex;
  /** Where the index came from: `published` (the pointer's blob) or `local` (built here). */
  origin: "published" | "local";
}

/** This instance's catalog index: built once per instance by the composition root, which owns it. */
export interface CatalogIndex {
  /** The current index, loaded on first use and refreshed when the pointer changes. */
  get(): Promise<LoadedIndex>;
}

/**
 * The index of one instance, loaded lazily and refreshed when the pointer changes. Each call makes
 * an independent index (tests with separate apps get separate indexes).
 */
export function createCatalogIndex(deps: IndexDeps): CatalogIndex {
  let origin: LoadedIndex["origin"] = "local";
  const loader = createIndexLoader({
    checkEveryMs: deps.config.catalogIndexCheckSeconds * 1000,
    now: () => deps.now().getTime(),
    version: async () => {
      const p = await readIndexPointer(deps.db);
      if (p?.bucket && p.object && p.generation) return `gs:${p.bucket}/${p.object}#${p.generation}`;
      // No published blob: the pointer's build time (or its absence) versions the local build.
      return `local:${p?.startedAt ?? "none"}`;
    },
    read: async (version) => {
      const gs = /^gs:([^/]+)\/(.+)#(\d+)$/.exec(version);
      if (gs) {
        const [, bucket, object, generation] = gs;
        try {
          const [bytes] = await (await storageOf(deps))
            .bucket(bucket!)
            .file(object!, { generation: generation! })
            .download();
          origin = "published";
          return bytes;
        } catch (err) {
          // Only reaches a client when the instance has no index yet (the loader keeps serving
          // the previous one otherwise): say it is temporary, not an internal error.
          deps.log.error("catalog index: download failed", { version, error: String(err) });
          throw new ApiError(
            "unavailable",
            "The catalog search index could not be loaded; try again shortly",
            undefined,
            {
              cause: err,
            },
          );
        }
      }
      const count = (await deps.db.collection(CATALOG_COLLECTIONS.records).count().get()).data().count;
      if (count > deps.config.catalogLocalBuildMaxRecords) {
        throw new ApiError(
          "unavailable",
          `The catalog search index has not been published yet (${count} records are too many to ` +
            "index on demand); an admin can POST /v2/catalog/index",
        );
      }
      const index = await buildCatalogIndex(deps.db);
      deps.log.info("catalog index built locally", { records: index.size, version });
      origin = "local";
      return index.serialize();
    },
  });
  return { get: () => loader.get().then((index) => ({ index, origin })) };
}
