/**
 * Generates the image-signature seed: real-format signature blocks and info.json for a demo
 * dataset (emulator-data/signatures/<dataset>/...), and the BigQuery rows of its
 * `<dataset>_imgsearch.hamming0..3` tables (emulator-data/signatures/bigquery.json).
 *
 * The output is deterministic. Samples sit on a 64-voxel grid with random signatures, plus a few
 * planted near-duplicates of the signature at `LANDMARKS.query`, some within 100 voxels of the
 * query point or of each other, so a like-location search has neighbours to return and to
 * suppress.
 *
 *   npx tsx scripts/make-signatures.ts [outDir]
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { SeedTable } from "../functions/loopback/bigquery.js";
import type { Point, SignatureInfo } from "../functions/src/schemas/signatures.js";
import {
  blockPath,
  encodeBlock,
  MAX_HAMMING,
  partitionsOf,
  type SignatureRecord,
} from "../functions/src/services/signatures.js";

export const DEMO_DATASET = "demo";
export const BLOCK_SIZE = 256;
const GRID = 64;
const EXTENT: Point = [512, 512, 256];

/** Four disjoint 16-bit slices of the signature; ham_3 is past 2^53 to catch lossy parsing. */
export const DEMO_INFO: SignatureInfo = {
  block_size: BLOCK_SIZE,
  ham_0: 0xffffn,
  ham_1: 0xffff_0000n,
  ham_2: 0xffff_0000_0000n,
  ham_3: 0xffff_0000_0000_0000n,
};

/** A negative int64 beyond 2^53: a lossy path would change its decimal form. */
const QUERY_SIGNATURE = BigInt.asIntN(64, 0x9e3779b97f4a7c15n);

const flip = (mask: bigint) => BigInt.asIntN(64, QUERY_SIGNATURE ^ mask);

/** Planted samples; `hamming` is the distance of each signature to the query's. */
export const LANDMARKS = {
  query: { point: [96, 96, 96] as Point, signature: QUERY_SIGNATURE, hamming: 0 },
  /** 64 voxels from the query point: similar, but suppressed. */
  besideQuery: { point: [160, 96, 96] as Point, signature: flip(1n << 20n), hamming: 1 },
  near1: { point: [416, 352, 160] as Point, signature: flip(1n << 3n), hamming: 1 },
  /** 64 voxels from near1, which ranks first: suppressed. */
  besideNear1: { point: [416, 416, 160] as Point, signature: flip(0b100001n), hamming: 2 },
  near3: { point: [32, 416, 224] as Point, signature: flip(0b111n << 8n), hamming: 3 },
  near5: { point: [480, 32, 32] as Point, signature: flip(0x1fn << 16n), hamming: 5 },
  /** Shares partitions with the query but is 9 bits away: never a match. */
  tooFar: { point: [288, 288, 96] as Point, signature: flip(0x1ffn), hamming: 9 },
};

function popcount(v: bigint): number {
  let bits = BigInt.asUintN(64, v);
  let n = 0;
  for (; bits > 0n; bits >>= 1n) n += Number(bits & 1n);
  return n;
}

/** splitmix64: a tiny deterministic 64-bit generator. */
function* splitmix64(seed: bigint): Generator<bigint> {
  let state = seed;
  for (;;) {
    state = BigInt.asUintN(64, state + 0x9e3779b97f4a7c15n);
    let z = state;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    yield BigInt.asIntN(64, z ^ (z >> 31n));
  }
}

export const BIGQUERY_SCHEMA = [
  { name: "part", type: "INTEGER" },
  { name: "signature", type: "INTEGER" },
  { name: "x", type: "INTEGER" },
  { name: "y", type: "INTEGER" },
  { name: "z", type: "INTEGER" },
];

export interface SignatureSeed {
  /** Object path in the signatures bucket → content. */
  objects: Map<string, Buffer>;
  /** `dataset.table` → BigQuery table, INT64 as decimal strings. */
  tables: Record<string, SeedTable>;
  records: SignatureRecord[];
}

/** info.json as the Python ingest writes it: the masks as JSON integers, however large. */
export function infoJson(info: SignatureInfo): string {
  return `{"block_size": ${info.block_size}, "ham_0": ${info.ham_0}, "ham_1": ${info.ham_1}, "ham_2": ${info.ham_2}, "ham_3": ${info.ham_3}}\n`;
}

export function makeSignatureSeed(dataset = DEMO_DATASET, info = DEMO_INFO): SignatureSeed {
  const planted = new Map(Object.values(LANDMARKS).map((l) => [l.point.join(","), l.signature]));
  const random = splitmix64(0x5eedn);
  const records: SignatureRecord[] = [];
  for (let z = GRID / 2; z < EXTENT[2]; z += GRID) {
    for (let y = GRID / 2; y < EXTENT[1]; y += GRID) {
      for (let x = GRID / 2; x < EXTENT[0]; x += GRID) {
        let signature = planted.get(`${x},${y},${z}`);
        while (signature === undefined) {
          const candidate = random.next().value as bigint;
          // Random samples must not be accidental neighbours of the query signature.
          if (popcount(candidate ^ QUERY_SIGNATURE) > MAX_HAMMING + 4) signature = candidate;
        }
        records.push({ point: [x, y, z], signature });
      }
    }
  }
  if (records.filter((r) => planted.has(r.point.join(","))).length !== planted.size) {
    throw new Error("a landmark is off the sample grid");
  }

  const byBlock = new Map<string, SignatureRecord[]>();
  for (const r of records) {
    const path = blockPath(dataset, info.block_size, r.point);
    byBlock.set(path, [...(byBlock.get(path) ?? []), r]);
  }
  const objects = new Map<string, Buffer>([[`${dataset}/info.json`, Buffer.from(infoJson(info))]]);
  for (const [path, rs] of byBlock) objects.set(path, encodeBlock(rs));

  const tables: Record<string, SeedTable> = {};
  for (let i = 0; i < 4; i++)
    tables[`${dataset}_imgsearch.hamming${i}`] = { schema: BIGQUERY_SCHEMA, rows: [] };
  for (const r of records) {
    partitionsOf(info, r.signature).forEach((part, i) => {
      tables[`${dataset}_imgsearch.hamming${i}`]?.rows.push({
        part: part.toString(),
        signature: r.signature.toString(),
        x: String(r.point[0]),
        y: String(r.point[1]),
        z: String(r.point[2]),
      });
    });
  }
  return { objects, tables, records };
}

/** Writes the seed under `outDir` (emulator-data/signatures by default). */
export async function writeSignatureSeed(outDir: string): Promise<void> {
  const seed = makeSignatureSeed();
  for (const [path, content] of seed.objects) {
    await mkdir(dirname(join(outDir, path)), { recursive: true });
    await writeFile(join(outDir, path), content);
  }
  // One row per line: small diffs when the generator changes, readable without a viewer.
  const tables = Object.entries(seed.tables).map(
    ([name, t]) =>
      `  ${JSON.stringify(name)}: {\n    "schema": ${JSON.stringify(t.schema)},\n    "rows": [\n` +
      t.rows.map((r) => `      ${JSON.stringify(r)}`).join(",\n") +
      "\n    ]\n  }",
  );
  await writeFile(join(outDir, "bigquery.json"), `{\n "tables": {\n${tables.join(",\n")}\n }\n}\n`);
  console.log(`wrote ${seed.objects.size} objects and ${seed.records.length * 4} BigQuery rows to ${outDir}`);
}

// Run from the repository root, as the other scripts are.
if (process.argv[1]?.endsWith("make-signatures.ts")) {
  writeSignatureSeed(resolve(process.argv[2] ?? "emulator-data/signatures")).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
