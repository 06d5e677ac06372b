/**
 * Catalog bench, one run on one emulator:
 * - Harvest write rate: the catalog write path (`harvestWriteBench`: hash check + BulkWriter) as a
 *   ratio of firebase-admin BulkWriter's raw rate writing the same records, and the rate of a
 *   rerun that finds every record unchanged (no writes at all).
 * - Index lifecycle over those records in Firestore: paged read + build + serialize + upload to
 *   the loopback Cloud Storage + pointer (`publishCatalogIndex`), then a cold instance's load.
 * - At 300,000 catalog-shaped records (built in memory through the same record → document mapping
 *   and field weights as production): build time, blob size, loaded-index memory, query p50/p95.
 * - Search p50/p95 against SQLite FTS5 on the 300,000-document synthetic corpus: bench/search.ts.
 * - Peak RSS of the whole run.
 *
 *   npx tsx bench/catalog.ts [--writes 5000] [--docs 300000] [--no-fts]
 *   (add `node --expose-gc --import tsx` for exact heap figures)
 */
import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import { Storage } from "@google-cloud/storage";
import { initializeApp } from "firebase-admin/app";
import { getFirestore, type Firestore } from "firebase-admin/firestore";
import { startStorageServer } from "../functions/loopback/storage.js";
import { configSchema } from "../functions/src/config.js";
import type { Logger } from "../functions/src/log.js";
import { catalogDocId, type CatalogRecord, type CatalogSource } from "../functions/src/schemas/catalog.js";
import { SearchIndex, type SearchDocument } from "../functions/src/search/index.js";
import {
  catalogIndex,
  catalogSearchDocument,
  FIELD_WEIGHTS,
  publishCatalogIndex,
} from "../functions/src/services/catalog-index.js";
import { contentHash } from "../functions/src/services/harvest.js";
import { startFirestoreEmulator } from "../scripts/lib/firestore-emulator.js";
import { benchRecord, harvestWriteBench } from "./harvest.js";
import { runSearchBench, syntheticCorpus } from "./search.js";

const PROJECT_ID = "demo-neurofire";
const silent: Logger = { info: () => {}, warn: () => {}, error: () => {} };

export interface CatalogBenchOptions {
  /** Records written per write-rate measurement. */
  writes?: number;
  /** Size of the in-memory catalog-shaped index and of the FTS5 comparison corpus. */
  docs?: number;
  fts?: boolean;
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const mb = (bytes: number) => round(bytes / 1048576, 1);

function heapBytes(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/**
 * Raw BulkWriter: the same documents, no reads, no hashing. With its default throttling (500
 * ops/s at first, +50% every 5 minutes: Firestore's ramp-up rule, which the harvest path keeps)
 * and, to show what the emulator itself can take, without.
 */
async function rawBulkWriterRate(db: Firestore, count: number, throttling = true): Promise<number> {
  const col = db.collection(`bench_raw_${randomUUID().slice(0, 6)}`);
  const at = new Date().toISOString();
  const started = performance.now();
  const writer = db.bulkWriter(throttling ? {} : { throttling: false });
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const content = benchRecord("modeldb", i);
    writes.push(
      writer.set(col.doc(catalogDocId(content.id)), {
        ...content,
        harvestedAt: at,
        contentHash: contentHash(content),
        lastSeenRun: "raw",
        withdrawn: false,
        withdrawnAt: null,
      }),
    );
  }
  await writer.close();
  await Promise.all(writes);
  return (count / (performance.now() - started)) * 1000;
}

/**
 * bench/search.ts's synthetic corpus (Zipf-distributed vocabulary, realistic field lengths) as
 * catalog records, so the 300,000-record figures go through the production mapping and weights.
 */
function* syntheticRecords(docs: number): Generator<CatalogRecord> {
  const sources: Record<string, CatalogSource> = { nexus: "neuromorpho" };
  for (const d of syntheticCorpus(docs)) {
    const text = d.text;
    const list = (k: string) => (Array.isArray(text[k]) ? text[k] : []);
    const source = sources[d.facets.source![0]!] ?? (d.facets.source![0] as CatalogSource);
    yield {
      id: d.id,
      source,
      // The synthetic NMO_ identifier stands in for a source's own id (searchable whole).
      sourceId: list("keywords")[2] ?? d.id,
      kind: d.facets.kind![0] as CatalogRecord["kind"],
      name: text.name as string,
      description: text.description as string,
      species: list("species"),
      brainRegions: list("regions"),
      cellTypes: list("cellTypes"),
      layers: [],
      markers: [],
      files: [],
      links: [],
      licence: "CC-BY-4.0",
      citations: [{ text: `${list("keywords")[0]} et al. (${list("keywords")[1]})` }],
      attributes: {},
      sourceModified: new Date(d.sort!.modified!).toISOString(),
      sourceVersion: null,
      harvestedAt: "2026-01-01T00:00:00.000Z",
      contentHash: "0".repeat(64),
      lastSeenRun: "bench",
      withdrawn: false,
      withdrawnAt: null,
    };
  }
}

const QUERIES: { q: string; filters?: Record<string, string[]> }[] = [
  { q: "pyramidal" },
  { q: "CA1 pyramidal cell" },
  { q: "basket interneuron dentate gyrus" },
  { q: "pyram" },
  { q: "CA1 interneu" },
  { q: "NMO_01234" },
  { q: "pyramidal", filters: { species: ["rat"] } },
  { q: "interneuron", filters: { brainRegions: ["CA1", "CA3"], species: ["mouse"] } },
  { q: "" },
];

function inMemoryCatalog(docs: number): Record<string, number> {
  const t0 = performance.now();
  const documents: SearchDocument[] = [];
  for (const record of syntheticRecords(docs)) documents.push(catalogSearchDocument(record));
  const mapMs = performance.now() - t0;
  const t1 = performance.now();
  let built: SearchIndex | undefined = SearchIndex.build(documents, {
    fields: FIELD_WEIGHTS,
    defaultFieldWeight: 1,
  });
  const buildMs = performance.now() - t1;
  documents.length = 0;
  const blob = built.serialize();
  built = undefined;
  const before = heapBytes();
  const t2 = performance.now();
  const index = SearchIndex.deserialize(blob);
  const loadMs = performance.now() - t2;
  const loadedBytes = heapBytes() - before;
  const samples: number[] = [];
  for (let rep = 0; rep < 20; rep++) {
    for (const query of QUERIES) {
      const s = performance.now();
      // As the API asks: withdrawn records filtered out, every facet counted.
      index.search({ q: query.q, filters: { status: ["current"], ...query.filters }, limit: 20 });
      samples.push(performance.now() - s);
    }
  }
  samples.sort((a, b) => a - b);
  return {
    catalogDocs: docs,
    catalogMapMs: round(mapMs, 0),
    catalogBuildMs: round(buildMs, 0),
    catalogBlobMB: mb(blob.byteLength),
    catalogLoadMs: round(loadMs, 0),
    catalogLoadedIndexMB: mb(loadedBytes),
    catalogSearchP50Ms: round(percentile(samples, 50), 3),
    catalogSearchP95Ms: round(percentile(samples, 95), 3),
  };
}

export async function runCatalogBench(
  opts: CatalogBenchOptions = {},
): Promise<Record<string, number | string>> {
  const writes = opts.writes ?? 5000;
  const docs = opts.docs ?? 300_000;
  process.env.METADATA_SERVER_DETECTION = "none";
  process.env.GCLOUD_PROJECT = PROJECT_ID;
  const emulator = await startFirestoreEmulator({ projectId: PROJECT_ID });
  const previousHost = process.env.FIRESTORE_EMULATOR_HOST;
  process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
  // A Firestore of its own (a named app), bound to this emulator whatever ran before in-process.
  const db = getFirestore(initializeApp({ projectId: PROJECT_ID }, `catalog-bench-${randomUUID()}`));
  const gcs = await startStorageServer();
  const out: Record<string, number | string> = {};
  try {
    // Warm up both paths (connections, JIT) on records the measured runs do not reuse.
    await harvestWriteBench(db, 500, { source: "dandi" });
    await rawBulkWriterRate(db, 500);

    const raw = await rawBulkWriterRate(db, writes);
    const unthrottled = await rawBulkWriterRate(db, writes, false);
    const ours = await harvestWriteBench(db, writes, { source: "modeldb", runId: "bench-1" });
    const rerun = await harvestWriteBench(db, writes, { source: "modeldb", runId: "bench-2" });
    Object.assign(out, {
      writes,
      rawBulkWriterPerSec: round(raw, 0),
      harvestWritePerSec: round(ours.perSecond, 0),
      harvestWriteRatio: round(ours.perSecond / raw, 3),
      rawUnthrottledPerSec: round(unthrottled, 0),
      harvestVsUnthrottledRatio: round(ours.perSecond / unthrottled, 3),
      // Every record unchanged: nothing is written, so this is the hash-check (read) rate.
      unchangedRerunPerSec: round((writes / rerun.ms) * 1000, 0),
    });

    const config = configSchema.parse({
      projectId: PROJECT_ID,
      storageApiEndpoint: gcs.url,
      catalogBucket: "bench-catalog",
      catalogIndexCheckSeconds: 0,
    });
    const storage = new Storage({ apiEndpoint: gcs.url, projectId: PROJECT_ID });
    const deps = { db, config, now: () => new Date(), log: silent, storage };
    const t0 = performance.now();
    const pointer = await publishCatalogIndex(deps, "bench");
    const publishMs = performance.now() - t0;
    const t1 = performance.now();
    const { index } = await catalogIndex({}, deps);
    const coldLoadMs = performance.now() - t1;
    Object.assign(out, {
      indexedFromFirestore: pointer.records,
      publishMs: round(publishMs, 0),
      publishRecordsPerSec: round((pointer.records / publishMs) * 1000, 0),
      coldInstanceLoadMs: round(coldLoadMs, 1),
      loadedRecords: index.size,
    });
  } finally {
    await gcs.close();
    await emulator.stop();
    if (previousHost === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
    else process.env.FIRESTORE_EMULATOR_HOST = previousHost;
  }

  Object.assign(out, inMemoryCatalog(docs));
  out.peakRssBeforeFts5MB = mb(process.resourceUsage().maxRSS * 1024);

  const search = await runSearchBench({ docs, fts: opts.fts ?? true });
  Object.assign(out, {
    searchDocs: search.docs,
    searchP50Ms: round(search.oursP50Ms, 3),
    searchP95Ms: round(search.oursP95Ms, 3),
    searchIndexMB: mb(search.indexMemoryBytes),
    searchBlobMB: mb(search.serializedBytes),
    ...(search.ftsP50Ms === undefined
      ? {}
      : {
          fts5P50Ms: round(search.ftsP50Ms, 3),
          fts5P95Ms: round(search.ftsP95Ms!, 3),
          searchVsFts5P50GeoMean: round(search.ratioP50GeoMean!, 3),
        }),
    peakRssMB: mb(process.resourceUsage().maxRSS * 1024),
  });
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const result = await runCatalogBench({
    writes: arg("writes"),
    docs: arg("docs"),
    fts: !process.argv.includes("--no-fts"),
  });
  console.table(result);
  process.exit(0);
}
