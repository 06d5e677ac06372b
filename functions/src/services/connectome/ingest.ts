/**
 * Connectome ingest from a folder in WormWideWeb's `initial_data` layout (see
 * emulator-data/connectome/README.md). Reading and checking is pure (`readConnectomeFolder`);
 * `writeConnectome` then sets every document whole, so a re-run with the same files writes the same
 * documents: the command is idempotent. Import rules are WormWideWeb's:
 * 1. drop electrical records of datasets with `skip_gap_junction` (the Witvliet series);
 * 2. rename pre/post with `connectome_neurons_replacement.csv`;
 * 3. merge records with the same (pre, post, type), summing Σ syn;
 * 4. drop rows whose pre or post is not in the cell table.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import type { Firestore } from "firebase-admin/firestore";
import { z } from "zod";
import {
  connectomeFileSchema,
  datasetEntrySchema,
  type Cell,
  type CellTableDoc,
  type ConnectomeDatasetDoc,
  type DatasetEntry,
  type GraphBlob,
} from "../../schemas/connectome.js";

export const CONNECTOME_DATASETS = "connectome_datasets";
export const CONNECTOME_GRAPHS = "connectome_graphs";
export const CONNECTOME_META = "connectome_meta";
export const CELLS_DOC = "cells";
/** Every input file is far below this; a bigger one is refused rather than read. */
const MAX_FILE_BYTES = 8 * 1024 * 1024;
const MAX_DATASETS = 200;

export interface IngestedDataset {
  doc: ConnectomeDatasetDoc;
  graph: GraphBlob;
}

export interface IngestPlan {
  cells: CellTableDoc;
  datasets: IngestedDataset[];
  /** Records dropped because a cell is not in the table, per dataset (WormWideWeb warns too). */
  dropped: Record<string, string[]>;
}

const sha256 = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");

async function readBounded(file: string): Promise<Buffer> {
  const bytes = await readFile(file);
  if (bytes.length > MAX_FILE_BYTES) throw new Error(`${file} is larger than ${MAX_FILE_BYTES} bytes`);
  return bytes;
}

/** A plain comma-separated table (WormWideWeb's have no quoting); strips a UTF-8 BOM. */
export function parseCsv(text: string): Record<string, string>[] {
  const lines = text
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)
    .filter((l) => l.length > 0);
  const header = (lines.shift() ?? "").split(",");
  return lines.map((line, i) => {
    const cells = line.split(",");
    if (cells.length !== header.length)
      throw new Error(`line ${i + 2} has ${cells.length} fields, the header ${header.length}`);
    return Object.fromEntries(header.map((h, j) => [h, cells[j]!]));
  });
}

/** The manifest WormWideWeb checks (`config/data_checksum.json`), cross-checked with the CSV one. */
async function readManifest(dir: string): Promise<Map<string, string>> {
  const manifest = z
    .object({ connectome: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)) })
    .parse(JSON.parse((await readBounded(path.join(dir, "config", "data_checksum.json"))).toString("utf8")));
  const sums = new Map(Object.entries(manifest.connectome));
  const csvPath = path.join(dir, "connectome", "connectome_checksum.csv");
  if (existsSync(csvPath)) {
    const text = (await readBounded(csvPath)).toString("utf8");
    for (const line of text.split(/\r?\n/).filter((l) => l.length > 0)) {
      const [file, sum] = line.split(",");
      if (file && sums.has(file) && sums.get(file) !== sum)
        throw new Error(`${file}: connectome_checksum.csv and data_checksum.json disagree`);
    }
  }
  return sums;
}

/** Reads and checks a folder; throws (naming the file) on any checksum or format problem. */
export async function readConnectomeFolder(dir: string): Promise<IngestPlan> {
  const manifest = await readManifest(dir);
  const cellsText = (await readBounded(path.join(dir, "connectome", "connectome_neurons.csv"))).toString(
    "utf8",
  );
  const renamesText = (
    await readBounded(path.join(dir, "config", "connectome_neurons_replacement.csv"))
  ).toString("utf8");
  const cells: Cell[] = parseCsv(cellsText).map((r) => ({
    name: r.name ?? "",
    class: r.class ?? "",
    type: r.type ?? "",
    type_code: r.type_code ?? "",
    category: r.category ?? "",
    dv: r.dv ?? "",
    lr: r.lr ?? "",
  }));
  const cellByName = new Map(cells.map((c) => [c.name, c]));
  const renames = new Map(parseCsv(renamesText).map((r) => [r.original ?? "", r.replacement ?? ""]));
  const tablesHash = sha256(cellsText + "\0" + renamesText);

  const entries = z
    .array(datasetEntrySchema)
    .max(MAX_DATASETS)
    .parse(
      JSON.parse(
        (await readBounded(path.join(dir, "connectome", "connectome_datasets.json"))).toString("utf8"),
      ),
    );
  const datasets: IngestedDataset[] = [];
  const dropped: Record<string, string[]> = {};
  for (const entry of entries) {
    const file = `${entry.id}.json`;
    const expected = manifest.get(file);
    if (!expected) throw new Error(`${file} is not in config/data_checksum.json`);
    const bytes = await readBounded(path.join(dir, "connectome", "connectome", file));
    const actual = sha256(bytes);
    if (actual !== expected)
      throw new Error(`${file}: SHA-256 ${actual} does not match the manifest's ${expected}`);
    const records = connectomeFileSchema.parse(JSON.parse(bytes.toString("utf8")));
    const { graph, neurons, synapses, missing } = importRecords(entry, records, renames, cellByName, cells);
    if (missing.length > 0) dropped[entry.id] = missing;
    datasets.push({
      doc: {
        ...stripUndefined(entry),
        sha256: actual,
        public: true,
        neurons,
        synapses,
        version: sha256(`${actual}:${tablesHash}`).slice(0, 32),
      },
      graph,
    });
  }
  return { cells: { cells, sha256: sha256(cellsText) }, datasets, dropped };
}

function stripUndefined(entry: DatasetEntry): DatasetEntry {
  return Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined)) as DatasetEntry;
}

function importRecords(
  entry: DatasetEntry,
  records: z.infer<typeof connectomeFileSchema>,
  renames: Map<string, string>,
  cellByName: Map<string, Cell>,
  cells: Cell[],
) {
  const merged = new Map<string, { pre: string; post: string; type: 0 | 1; count: number }>();
  for (const r of records) {
    if (r.typ === 2 && entry.skip_gap_junction) continue;
    const pre = renames.get(r.pre) ?? r.pre;
    const post = renames.get(r.post) ?? r.post;
    const type = r.typ === 0 ? 0 : 1;
    const key = `${pre}\0${post}\0${type}`;
    const count = r.syn.reduce((a, b) => a + b, 0);
    const row = merged.get(key);
    if (row) row.count += count;
    else merged.set(key, { pre, post, type, count });
  }
  const names: string[] = [];
  const index = new Map<string, number>();
  const idx = (name: string) => {
    let i = index.get(name);
    if (i === undefined) {
      i = names.length;
      names.push(name);
      index.set(name, i);
    }
    return i;
  };
  const rows: GraphBlob["rows"] = [];
  const missing = new Set<string>();
  let synapses = 0;
  for (const row of merged.values()) {
    const unknown = [row.pre, row.post].filter((n) => !cellByName.has(n));
    if (unknown.length > 0) {
      unknown.forEach((n) => missing.add(n));
      continue;
    }
    rows.push([idx(row.pre), idx(row.post), row.type, row.count]);
    synapses += row.count;
  }
  const neurons = cells.filter((c) => index.has(c.name)).map((c) => c.name);
  return { graph: { names, rows }, neurons, synapses, missing: [...missing].sort() };
}

export function encodeGraph(graph: GraphBlob): Buffer {
  return gzipSync(JSON.stringify(graph));
}

/**
 * Writes the plan: the cell table, then each dataset's graph and its metadata (the metadata last, so
 * a reader never sees a dataset whose graph is missing). Datasets not in the plan are left alone.
 */
export async function writeConnectome(deps: { db: Firestore }, plan: IngestPlan): Promise<number> {
  const { db } = deps;
  await db.collection(CONNECTOME_META).doc(CELLS_DOC).set(plan.cells);
  for (const { doc, graph } of plan.datasets) {
    await db
      .collection(CONNECTOME_GRAPHS)
      .doc(doc.id)
      .set({ version: doc.version, blob: encodeGraph(graph) });
    await db.collection(CONNECTOME_DATASETS).doc(doc.id).set(doc);
  }
  return plan.datasets.length;
}
