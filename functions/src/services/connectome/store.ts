/**
 * The per-instance connectome cache: dataset documents (one bounded read of a small collection,
 * refreshed after `ttlMs`), the cell table (one document) and each dataset's graphs (one document
 * per dataset, decoded once and rebuilt only when the dataset is re-ingested with other inputs).
 * Graphs are tiny (≤ 600 nodes, ≤ 9,000 edges), so an instance holds every one it is asked for.
 */
import { gunzipSync } from "node:zlib";
import type { Firestore } from "firebase-admin/firestore";
import {
  cellTableDocSchema,
  connectomeDatasetDocSchema,
  graphBlobSchema,
  graphDocSchema,
  type Cell,
  type ConnectomeDatasetDoc,
} from "../../schemas/connectome.js";
import { unavailable } from "../../errors.js";
import { DatasetGraphs } from "./graph.js";
import { CELLS_DOC, CONNECTOME_DATASETS, CONNECTOME_GRAPHS, CONNECTOME_META } from "./ingest.js";

export const MAX_CONNECTOME_DATASETS = 500;
/** A stored graph blob is a few hundred KB unpacked; refuse anything absurd before parsing it. */
const MAX_GRAPH_BYTES = 16 * 1024 * 1024;

export interface CellTable {
  cells: Cell[];
  byName: Map<string, Cell>;
  /** Class → every cell of the class in the table (WormWideWeb's `cls.neurons.all()`), table order. */
  members: Map<string, string[]>;
}

export interface ConnectomeStoreDeps {
  db: Firestore;
  now(): Date;
  ttlMs: number;
}

export class ConnectomeStore {
  private datasetsSnap: { at: number; byId: Map<string, ConnectomeDatasetDoc> } | undefined;
  private datasetsLoading: Promise<Map<string, ConnectomeDatasetDoc>> | undefined;
  private cellTable: Promise<CellTable> | undefined;
  private readonly graphs = new Map<string, Promise<DatasetGraphs>>();

  constructor(private readonly deps: ConnectomeStoreDeps) {}

  async datasets(): Promise<Map<string, ConnectomeDatasetDoc>> {
    const now = this.deps.now().getTime();
    if (this.datasetsSnap && now - this.datasetsSnap.at < this.deps.ttlMs) return this.datasetsSnap.byId;
    this.datasetsLoading ??= this.loadDatasets(now).finally(() => (this.datasetsLoading = undefined));
    return this.datasetsLoading;
  }

  private async loadDatasets(now: number): Promise<Map<string, ConnectomeDatasetDoc>> {
    const snap = await this.deps.db.collection(CONNECTOME_DATASETS).limit(MAX_CONNECTOME_DATASETS).get();
    const byId = new Map<string, ConnectomeDatasetDoc>();
    for (const doc of snap.docs) {
      const parsed = connectomeDatasetDocSchema.safeParse(doc.data());
      if (parsed.success) byId.set(doc.id, parsed.data);
    }
    this.datasetsSnap = { at: now, byId };
    return byId;
  }

  cells(): Promise<CellTable> {
    this.cellTable ??= (async () => {
      const snap = await this.deps.db.collection(CONNECTOME_META).doc(CELLS_DOC).get();
      const parsed = cellTableDocSchema.safeParse(snap.data());
      if (!parsed.success)
        throw unavailable("the connectome cell table is missing or malformed: run the ingest");
      const { cells } = parsed.data;
      const members = new Map<string, string[]>();
      for (const c of cells) {
        const list = members.get(c.class);
        if (list) list.push(c.name);
        else members.set(c.class, [c.name]);
      }
      return { cells, byName: new Map(cells.map((c) => [c.name, c])), members };
    })().catch((err: unknown) => {
      this.cellTable = undefined;
      throw err;
    });
    return this.cellTable;
  }

  /** The graphs of one dataset at the version its document names. */
  graphsOf(doc: ConnectomeDatasetDoc): Promise<DatasetGraphs> {
    const key = `${doc.id}@${doc.version}`;
    let loading = this.graphs.get(key);
    if (!loading) {
      loading = this.loadGraphs(doc);
      for (const k of this.graphs.keys()) if (k.startsWith(`${doc.id}@`)) this.graphs.delete(k);
      this.graphs.set(key, loading);
      loading.catch(() => this.graphs.delete(key));
    }
    return loading;
  }

  private async loadGraphs(doc: ConnectomeDatasetDoc): Promise<DatasetGraphs> {
    const [snap, cells] = await Promise.all([
      this.deps.db.collection(CONNECTOME_GRAPHS).doc(doc.id).get(),
      this.cells(),
    ]);
    const stored = graphDocSchema.safeParse(snap.data());
    if (!stored.success) throw unavailable(`the graph of ${doc.id} is missing: run the ingest`);
    const json = gunzipSync(stored.data.blob, { maxOutputLength: MAX_GRAPH_BYTES }).toString("utf8");
    const blob = graphBlobSchema.parse(JSON.parse(json));
    return new DatasetGraphs(blob, (cell) => cells.byName.get(cell)?.class ?? cell);
  }

  /** Forgets the dataset list (graphs stay keyed by version, so a re-ingest is still noticed). */
  invalidate(): void {
    this.datasetsSnap = undefined;
  }

  /** Number of datasets whose graphs this instance holds. */
  get loaded(): number {
    return this.graphs.size;
  }
}
