/**
 * Catalog bench, one run on one emulator:
 * - Harvest write rate: the catalog write path (`harvestWriteBench`: hash check + BulkWriter) as a
 *   ratio of firebase-admin BulkWriter's raw rate writing the same records, and the rate of a
 *   rerun that finds every record unchanged (no writes at all).
 * - Index lifecycle over those records in Firestore: paged read + build + serialize + upload to
 *   the loopback Cloud Storage + pointer (`publishCatalogIndex`), then a cold instance's load.
 * - At 300,000 catalog-shaped records streamed through the production record → document mapping
 *   and field weights, in a fresh process: build time, peak RSS of the build (the rebuild's
 *   memory, which sizes catalogadmin), blob size, loaded-index memory, query p50/p95.
 * - Our engine against MiniSearch, Orama, FlexSearch and SQLite FTS5 on the 300,000-document
 *   synthetic corpus, each in its own process: bench/search.ts (SEARCH_BENCH_DOCS for a quick run).
 *
 *   node --expose-gc --import tsx bench/catalog.ts [--writes 5000] [--docs 300000] [--no-peers]
 */
import { randomUUID } from "node:crypto";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { initializeApp } from "firebase-admin/app";
import { getFirestore } from "firebase-admin/firestore";
import { startStorageServer } from "../functions/loopback/storage.js";
import { configSchema } from "../functions/src/config.js";
import type { Logger } from "../functions/src/log.js";
import type { CatalogRecord, CatalogSource } from "../functions/src/schemas/catalog.js";
import { SearchIndex } from "../functions/src/search/index.js";
import {
  createCatalogIndex,
  indexRecords,
  publishCatalogIndex,
} from "../functions/src/services/catalog/search-index.js";
import { createRoot } from "../functions/src/services/root.js";
import { startFirestoreEmulator } from "../scripts/lib/firestore-emulator.js";
import { harvestWriteBench, rawBulkWriterRate } from "./harvest.js";
import { printSearchTable, runSearchBench, syntheticDocuments } from "./search.js";
import { NO_RATE_LIMITS } from "./lib.js";

const PROJECT_ID = "demo-neurofire";
const silent: Logger = { info: () => {}, warn: () => {}, error: () => {} };

export interface CatalogBenchOptions {
  /** Records written per write-rate measurement. */
  writes?: number;
  /** Size of the in-memory catalog-shaped index and of the FTS5 comparison corpus. */
  docs?: number;
  /** Run the peer engines (bench/search.ts) too. */
  peers?: boolean;
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
 * bench/search.ts's synthetic corpus (Zipf-distributed vocabulary, realistic field lengths) as
 * catalog records, so the 300,000-record figures go through the production mapping and weights.
 */
export function* syntheticRecordsForBench(docs: number): Generator<CatalogRecord> {
  const sources: Record<string, CatalogSource> = { nexus: "neuromorpho" };
  for (const d of syntheticDocuments(docs)) {
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

/**
 * The 300,000-record build as a rebuild runs it (records streamed through the production mapping
 * into the index builder, then serialized), in a fresh process so its peak RSS is the build's
 * own; then that process loads the blob and times catalog-shaped queries. Prints one RESULT line.
 */
async function buildInThisProcess(docs: number): Promise<Record<string, number>> {
  const baseRss = process.memoryUsage().rss;
  const t1 = performance.now();
  let built: SearchIndex | undefined = await indexRecords(syntheticRecordsForBench(docs));
  const buildMs = performance.now() - t1;
  const blob = built.serialize();
  built = undefined;
  const buildPeakRss = process.resourceUsage().maxRSS * 1024;
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
    catalogBuildMs: round(buildMs, 0),
    catalogBuildPeakRssMB: mb(buildPeakRss),
    catalogBaseRssMB: mb(baseRss),
    catalogBlobMB: mb(blob.byteLength),
    catalogLoadMs: round(loadMs, 0),
    catalogLoadedIndexMB: mb(loadedBytes),
    catalogSearchP50Ms: round(percentile(samples, 50), 3),
    catalogSearchP95Ms: round(percentile(samples, 95), 3),
  };
}

function buildInFreshProcess(docs: number): Record<string, number> {
  const run = spawnSync(
    process.execPath,
    [
      "--expose-gc",
      "--import",
      "tsx",
      fileURLToPath(import.meta.url),
      "--build-only",
      "--docs",
      String(docs),
    ],
    { encoding: "utf8", maxBuffer: 16 << 20 },
  );
  const line = run.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (!line)
    throw new Error(`catalog build bench failed: ${run.stderr.trim().split("\n").slice(-3).join(" ")}`);
  return JSON.parse(line.slice(7)) as Record<string, number>;
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
      rateLimits: NO_RATE_LIMITS,
      projectId: PROJECT_ID,
      storageApiEndpoint: gcs.url,
      catalogBucket: "bench-catalog",
      catalogIndexCheckSeconds: 0,
    });
    const deps = createRoot({ config, db, log: silent });
    const t0 = performance.now();
    const pointer = await publishCatalogIndex(deps, "bench");
    const publishMs = performance.now() - t0;
    const t1 = performance.now();
    const { index } = await createCatalogIndex(deps).get();
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

  Object.assign(out, buildInFreshProcess(docs));

  // The engines side by side (each in its own process); SEARCH_BENCH_DOCS sets a quick size.
  if (opts.peers ?? true) {
    const search = runSearchBench(process.env.SEARCH_BENCH_DOCS ? {} : { docs });
    printSearchTable(search);
    const ours = search.engines.find((e) => e.engine === "ours");
    const fts5 = search.engines.find((e) => e.engine === "fts5");
    Object.assign(out, {
      searchDocs: search.docs,
      ...(ours ? { searchP50Ms: round(ours.p50, 3), searchP95Ms: round(ours.p95, 3) } : {}),
      ...(ours && fts5 ? { searchVsFts5P50: round(ours.p50 / fts5.p50, 3) } : {}),
      searchCouldReplaceOurs: search.couldReplaceOurs.join(", ") || "none",
    });
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  if (process.argv.includes("--build-only")) {
    console.log(`RESULT ${JSON.stringify(await buildInThisProcess(arg("docs") ?? 300_000))}`);
    process.exit(0);
  }
  const result = await runCatalogBench({
    writes: arg("writes"),
    docs: arg("docs"),
    peers: !process.argv.includes("--no-peers"),
  });
  console.table(result);
  process.exit(0);
}
