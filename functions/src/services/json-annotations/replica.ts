/**
 * An in-memory replica of a dataset's HEAD records, one per instance, kept current by a Firestore
 * listener on `_updated` (the commit time every neurofire write sets). Queries Firestore cannot
 * express (regex, exists, OR of objects, array membership with IN) run over it, as DVID runs them
 * over its own store; see docs/json-annotations.md for the design and its figures.
 *
 * Loading: every HEAD document, paged by document id; then a listener on `_updated > t0`, where
 * t0 is the read time of the first page, re-delivers anything committed while the load ran.
 * This instance's own writes are applied as soon as they commit (read-your-writes); the listener
 * brings other instances' writes within its usual latency (about a second).
 */
import { FieldPath, type Firestore, type Timestamp } from "firebase-admin/firestore";
import type { Logger } from "../../log.js";
import { bodyIdOfHead, decodeState, recordsCollection, type Meta } from "./layout.js";
import type { Fields } from "./records.js";

export interface Entry {
  key: string;
  id: bigint;
  fields: Fields;
  meta: Meta;
  /** Applied by this instance before the listener confirmed it. */
  local: boolean;
}

export interface ReplicaEnv {
  db: Firestore;
  log: Logger;
}

/** HEAD documents read per page while loading. */
export const LOAD_PAGE_SIZE = 10_000;

export class DatasetReplica {
  private readonly byKey = new Map<string, Entry>();
  /** Every entry (tombstones too) in body id order, so scans answer sorted without a sort. */
  private sorted: Entry[] = [];
  private unsubscribe: (() => void) | undefined;
  failed = false;

  constructor(
    private readonly env: ReplicaEnv,
    readonly dataset: string,
  ) {}

  get(key: string): Entry | undefined {
    return this.byKey.get(key);
  }

  /** Live (not deleted) records, in body id order. */
  *live(): Generator<Entry> {
    for (const e of this.sorted) if (!e.meta.deleted) yield e;
  }

  /** Every entry including tombstones, in body id order (for reads of older versions). */
  entries(): readonly Entry[] {
    return this.sorted;
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Field names at HEAD, stamps included. */
  fieldNames(): Set<string> {
    const names = new Set<string>(["bodyid"]);
    for (const e of this.live()) for (const k of Object.keys(e.fields)) names.add(k);
    return names;
  }

  async load(): Promise<void> {
    const collection = recordsCollection(this.env.db, this.dataset);
    let startTime: Timestamp | undefined;
    let last: string | undefined;
    const loaded: Entry[] = [];
    for (;;) {
      let q = collection.where("_head", "==", true).orderBy(FieldPath.documentId()).limit(LOAD_PAGE_SIZE);
      if (last !== undefined) q = q.startAfter(last);
      const page = await q.get();
      startTime ??= page.readTime;
      for (const doc of page.docs) {
        const entry = this.entryOf(doc.id, doc.data());
        if (entry) loaded.push(entry);
      }
      if (page.size < LOAD_PAGE_SIZE) break;
      last = page.docs[page.size - 1]!.id;
    }
    loaded.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const e of loaded) this.byKey.set(e.key, e);
    this.sorted = loaded;
    await this.follow(startTime);
  }

  private entryOf(docId: string, data: FirebaseFirestore.DocumentData): Entry | undefined {
    const key = bodyIdOfHead(docId);
    if (key === undefined) return undefined;
    const { fields, meta } = decodeState(data);
    return { key, id: BigInt(key), fields, meta, local: false };
  }

  private follow(since: Timestamp): Promise<void> {
    const collection = recordsCollection(this.env.db, this.dataset);
    return new Promise((resolve) => {
      let first = true;
      this.unsubscribe = collection.where("_updated", ">", since).onSnapshot(
        (snap) => {
          for (const change of snap.docChanges()) {
            const data = change.doc.data();
            if (data._head !== true) continue;
            if (change.type === "removed") {
              // `_updated` only grows, so leaving the query means the document was deleted.
              const key = bodyIdOfHead(change.doc.id);
              if (key !== undefined) this.remove(key);
              continue;
            }
            const entry = this.entryOf(change.doc.id, data);
            if (entry) this.apply(entry, "listener");
          }
          if (first) {
            first = false;
            resolve();
          }
        },
        (err) => {
          this.env.log.error("json-annotations replica listener failed; the next read reloads", {
            dataset: this.dataset,
            error: err.message,
          });
          this.failed = true;
          if (first) resolve();
        },
      );
    });
  }

  /** Puts a record's new HEAD in place (a local write, or the listener's view of any write). */
  apply(entry: Entry, source: "local" | "listener"): void {
    const existing = this.byKey.get(entry.key);
    if (existing) {
      // The listener may still deliver an older commit after this instance applied a newer one.
      if (source === "listener" && existing.local && entry.meta.ms < existing.meta.ms) return;
      existing.fields = entry.fields;
      existing.meta = entry.meta;
      existing.local = source === "local";
      return;
    }
    entry.local = source === "local";
    this.byKey.set(entry.key, entry);
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid]!.id < entry.id) lo = mid + 1;
      else hi = mid;
    }
    this.sorted.splice(lo, 0, entry);
  }

  private remove(key: string): void {
    const entry = this.byKey.get(key);
    if (!entry) return;
    this.byKey.delete(key);
    this.sorted = this.sorted.filter((e) => e !== entry);
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}

/** The replicas of one instance, one per dataset, loaded on first use. */
export class ReplicaSet {
  private readonly replicas = new Map<string, Promise<DatasetReplica>>();

  constructor(private readonly env: ReplicaEnv) {}

  async get(dataset: string): Promise<DatasetReplica> {
    const existing = this.replicas.get(dataset);
    if (existing) {
      const replica = await existing;
      if (!replica.failed) return replica;
      replica.close();
      this.replicas.delete(dataset);
      return this.get(dataset);
    }
    const loading = (async () => {
      const replica = new DatasetReplica(this.env, dataset);
      await replica.load();
      return replica;
    })();
    this.replicas.set(dataset, loading);
    loading.catch(() => this.replicas.delete(dataset));
    return loading;
  }

  async close(): Promise<void> {
    for (const p of this.replicas.values()) (await p.catch(() => undefined))?.close();
    this.replicas.clear();
  }
}
