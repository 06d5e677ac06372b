/**
 * Harvest write rate: the catalog write path (`writeRecords`: hash check + BulkWriter, through
 * `harvestWriteBench`) as a ratio of firebase-admin BulkWriter's raw rate writing the same
 * records in the same run (aim ≥ 0.9), and the rate of a rerun that finds every record unchanged.
 *
 *   npx tsx bench/harvest.ts [--writes 5000]
 */
import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";

import { initializeApp } from "firebase-admin/app";
import { getFirestore, type Firestore } from "firebase-admin/firestore";

import { catalogDocId, type CatalogContent, type CatalogSource } from "../functions/src/schemas/catalog.js";
import { contentHash, writeRecords } from "../functions/src/services/harvest.js";
import { benchFirestore, PROJECT_ID, round } from "./lib.js";

/**
 * Bench hook: writes `count` generated records through the catalog write path (hash check +
 * BulkWriter) and reports how long it took, to compare with raw BulkWriter on the same emulator.
 */
export async function harvestWriteBench(
  db: Firestore,
  count: number,
  options: { source?: CatalogSource; runId?: string; batchSize?: number } = {},
): Promise<{ written: number; ms: number; perSecond: number }> {
  const source = options.source ?? "modeldb";
  const runId = options.runId ?? `bench-${randomUUID().slice(0, 8)}`;
  const batchSize = options.batchSize ?? 500;
  const startedAt = performance.now();
  let written = 0;
  for (let i = 0; i < count; i += batchSize) {
    const batch: CatalogContent[] = [];
    for (let j = i; j < Math.min(count, i + batchSize); j++) batch.push(benchRecord(source, j));
    const counts = await writeRecords(db, batch, runId, new Date().toISOString());
    written += counts.created + counts.updated;
  }
  const ms = performance.now() - startedAt;
  return { written, ms, perSecond: (written / ms) * 1000 };
}

/** A deterministic, realistic-sized record for benches. */
export function benchRecord(source: CatalogSource, n: number): CatalogContent {
  const regions = ["CA1", "CA3", "dentate gyrus", "subiculum", "entorhinal cortex"];
  return {
    id: `${source}:bench-${n}`,
    source,
    sourceId: `bench-${n}`,
    kind: "model",
    name: `Bench model ${n} of a ${regions[n % regions.length]} pyramidal cell`,
    description: `Generated record ${n} for write benchmarks; ${"lorem ipsum ".repeat(20)}`,
    species: [n % 2 ? "rat" : "mouse"],
    brainRegions: ["hippocampus", regions[n % regions.length]!],
    cellTypes: ["pyramidal cell"],
    layers: [],
    markers: [],
    files: [{ url: `https://modeldb.science/download/${n}`, format: "zip", name: `${n}.zip` }],
    links: [{ rel: "page", url: `https://modeldb.science/${n}` }],
    licence: null,
    citations: [{ text: `Author ${n} (2020)` }],
    attributes: { channels: ["I Na,t", "I K"] },
    sourceModified: "2020-01-01T00:00:00",
    sourceVersion: "1",
  };
}

/** firebase-admin BulkWriter writing the same documents, with no hash check: the raw rate. */
export async function rawBulkWriterRate(db: Firestore, count: number, throttling = true): Promise<number> {
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

export async function runHarvestBench(writes = 5000): Promise<Record<string, number>> {
  const emulator = await benchFirestore();
  try {
    const db = getFirestore(initializeApp({ projectId: PROJECT_ID }, `harvest-bench-${randomUUID()}`));
    // Warm up both paths (connections, JIT) on records the measured runs do not reuse.
    await harvestWriteBench(db, 500, { source: "dandi" });
    await rawBulkWriterRate(db, 500);
    const raw = await rawBulkWriterRate(db, writes);
    const ours = await harvestWriteBench(db, writes, { source: "modeldb", runId: "bench-1" });
    const rerun = await harvestWriteBench(db, writes, { source: "modeldb", runId: "bench-2" });
    return {
      writes,
      rawBulkWriterPerSec: round(raw, 0),
      harvestWritePerSec: round(ours.perSecond, 0),
      harvestWriteRatio: round(ours.perSecond / raw, 3),
      // Every record unchanged: nothing is written, so this is the hash-check (read) rate.
      unchangedRerunPerSec: round((writes / rerun.ms) * 1000, 0),
    };
  } finally {
    await emulator.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf("--writes");
  console.table(await runHarvestBench(i > 0 ? Number(process.argv[i + 1]) : undefined));
  process.exit(0);
}
