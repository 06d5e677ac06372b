/**
 * Dataset documents, cached per instance as one snapshot of the collection (datasets are few:
 * the read is bounded by MAX_DATASETS). A reload replaces the snapshot whole, so datasets that
 * were deleted or made private stop being served, unlike clio-store's caches that never shrank.
 */
import type { DocumentData, Firestore } from "firebase-admin/firestore";
import { storedDatasetSchema, type StoredDataset } from "../schemas/datasets.js";

export const DATASETS = "clio_datasets";
export const MAX_DATASETS = 5000;

/**
 * A stored dataset document, parsed. One that does not parse (a field of another type, written by
 * an older clio) is kept as it is: hiding it would hide a dataset from its own users.
 */
export function readStoredDataset(data: DocumentData): StoredDataset {
  const parsed = storedDatasetSchema.safeParse(data);
  return parsed.success ? parsed.data : (data as StoredDataset);
}

export class DatasetStore {
  private snapshot: { datasets: Map<string, StoredDataset>; loaded: number } | undefined;
  private loading: Promise<Map<string, StoredDataset>> | undefined;

  constructor(
    private readonly db: Firestore,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Every dataset, by id. */
  async all(): Promise<Map<string, StoredDataset>> {
    if (this.snapshot && this.now() - this.snapshot.loaded < this.ttlMs) return this.snapshot.datasets;
    // Concurrent requests share one reload instead of each reading the collection.
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    return this.loading;
  }

  async get(id: string): Promise<StoredDataset | undefined> {
    return (await this.all()).get(id);
  }

  async isPublic(id: string): Promise<boolean> {
    return (await this.get(id))?.public === true;
  }

  invalidate(): void {
    this.snapshot = undefined;
  }

  private async load(): Promise<Map<string, StoredDataset>> {
    const started = this.now();
    const snap = await this.db.collection(DATASETS).limit(MAX_DATASETS).get();
    const datasets = new Map<string, StoredDataset>();
    for (const doc of snap.docs) {
      datasets.set(doc.id, readStoredDataset(doc.data()));
    }
    this.snapshot = { datasets, loaded: started };
    return datasets;
  }
}
