/**
 * Activity reads. `ActivityStore` is the per-instance cache: the dataset documents and the paper
 * catalog (bounded reads, refreshed after `ttlMs`) and the small gzipped Cloud Storage objects a
 * request needs (LRU, bounded in count), so a warm instance serves a trace without any I/O. Traces
 * never pass through Firestore.
 */
import { gunzipSync } from "node:zlib";
import type { Storage } from "@google-cloud/storage";
import type { Firestore } from "firebase-admin/firestore";
import { notFound, unavailable } from "../../errors.js";
import {
  activityDatasetDocSchema,
  activityMetaSchema,
  type ActivityDatasetDoc,
} from "../../schemas/activity.js";
import {
  ACTIVITY_DATASETS,
  ACTIVITY_META,
  CATALOG_DOC,
  objectPrefix,
  trunc5,
  type ActivityDataset,
} from "./ingest.js";

export const MAX_ACTIVITY_DATASETS = 2000;
const MAX_OBJECT_BYTES = 64 * 1024 * 1024;
const CACHED_OBJECTS = 512;

export interface ActivityStoreDeps {
  db: Firestore;
  storage: () => Storage;
  bucket: string;
  now(): Date;
  ttlMs: number;
}

export class ActivityStore {
  private snap:
    | { at: number; byId: Map<string, ActivityDatasetDoc>; meta: ReturnType<typeof activityMetaSchema.parse> }
    | undefined;
  private readonly objects = new Map<string, unknown>();

  constructor(private readonly deps: ActivityStoreDeps) {}

  async catalog() {
    const now = this.deps.now().getTime();
    if (this.snap && now - this.snap.at < this.deps.ttlMs) return this.snap;
    const [list, metaSnap] = await Promise.all([
      this.deps.db.collection(ACTIVITY_DATASETS).limit(MAX_ACTIVITY_DATASETS).get(),
      this.deps.db.collection(ACTIVITY_META).doc(CATALOG_DOC).get(),
    ]);
    const byId = new Map<string, ActivityDatasetDoc>();
    for (const doc of list.docs) {
      const parsed = activityDatasetDocSchema.safeParse(doc.data());
      if (parsed.success) byId.set(doc.id, parsed.data);
    }
    const meta = activityMetaSchema.safeParse(metaSnap.data());
    this.snap = { at: now, byId, meta: meta.success ? meta.data : { papers: [], dataset_types: {} } };
    return this.snap;
  }

  async dataset(id: string): Promise<ActivityDatasetDoc> {
    const doc = (await this.catalog()).byId.get(id);
    if (!doc) throw notFound(`Unknown activity dataset ${id}`);
    return doc;
  }

  /** A gzipped JSON object of this dataset version, from the cache or Cloud Storage. */
  async object(doc: ActivityDatasetDoc, name: string): Promise<unknown> {
    const key = `${objectPrefix(doc)}${name}`;
    if (this.objects.has(key)) {
      const value = this.objects.get(key);
      this.objects.delete(key);
      this.objects.set(key, value);
      return value;
    }
    if (!this.deps.bucket) throw unavailable("ACTIVITY_BUCKET is not set");
    let bytes: Buffer;
    try {
      [bytes] = await this.deps.storage().bucket(this.deps.bucket).file(key).download();
    } catch (err) {
      if ((err as { code?: unknown }).code === 404)
        throw unavailable(`${key} is missing: re-run the activity ingest`);
      throw err;
    }
    const value = JSON.parse(
      gunzipSync(bytes, { maxOutputLength: MAX_OBJECT_BYTES }).toString("utf8"),
    ) as unknown;
    this.objects.set(key, value);
    if (this.objects.size > CACHED_OBJECTS) this.objects.delete(this.objects.keys().next().value!);
    return value;
  }
}

export async function trace(store: ActivityStore, doc: ActivityDatasetDoc, idx: number) {
  if (idx > doc.n_neuron) throw notFound(`Dataset ${doc.dataset_id} has ${doc.n_neuron} neurons, not ${idx}`);
  const values = (await store.object(doc, `trace/${idx}.json.gz`)) as number[];
  return { trace: values, idx_neuron: idx, dataset_id: doc.dataset_id };
}

/** `behavior.json.gz` holds what ingest wrote. */
type StoredBehavior = ActivityDataset["behavior"];

/** WormWideWeb's behaviour shape: velocity x10, floats truncated to 5 decimals, `f` only with pumping. */
export async function behavior(store: ActivityStore, doc: ActivityDatasetDoc) {
  const b = (await store.object(doc, "behavior.json.gz")) as StoredBehavior;
  const series = (i: number, short: string, name: string, unit: string, data: number[]) => ({
    i,
    name_short: short,
    name,
    unit,
    data: data.map(trunc5),
  });
  const traces: Record<string, unknown> = {
    v: series(
      0,
      "v",
      "Velocity",
      "0.1 mm/s",
      b.velocity.map((x) => x * 10),
    ),
    hc: series(1, "hc", "Head Curve", "rad", b.head),
    av: series(2, "av", "Angular Velocity", "rad/s", b.angular),
  };
  if (b.pumping) traces.f = series(3, "f", "Feeding", "pumps/s", b.pumping);
  return {
    data: { behavior: { traces, reversal_events: b.reversals }, events: b.events },
    dataset_id: doc.dataset_id,
    avg_timestep: doc.avg_timestep,
    max_t: doc.max_t,
  };
}

/** WormWideWeb answers 500 (KeyError) for a dataset without encoding; this is the 404 it meant. */
export async function encoding(
  store: ActivityStore,
  doc: ActivityDatasetDoc,
): Promise<Record<string, unknown>> {
  if (!doc.has_encoding) throw notFound(`Dataset ${doc.dataset_id} has no encoding data`);
  const enc = (await store.object(doc, "encoding.json.gz")) as Record<string, unknown>;
  return { n_neuron: doc.n_neuron, ...enc };
}

export async function atanasKimEncoding(store: ActivityStore, docs: ActivityDatasetDoc[]) {
  const out: Record<string, unknown> = {};
  for (const doc of docs) {
    if (doc.paper_id !== "atanas_kim_2023" || !doc.has_encoding || doc.n_labeled === 0) continue;
    if (!doc.dataset_type.includes("neuropal")) continue;
    const neuron = Object.fromEntries(
      Object.entries(doc.labels).map(([idx, l]) => [
        idx,
        // `idx_neruon` (sic) is part of WormWideWeb's contract.
        { name: l.label, label: l.label, class: l.neuron_class, idx_neruon: Number(idx) },
      ]),
    );
    out[doc.dataset_id] = { neuron, encoding: await encoding(store, doc), dataset_name: doc.dataset_id };
  }
  return out;
}

export function findNeuron(
  docs: ActivityDatasetDoc[],
  meta: Awaited<ReturnType<ActivityStore["catalog"]>>["meta"],
) {
  const classes: Record<string, string[][]> = {};
  const match: Record<string, Record<string, number[]>> = {};
  for (const doc of docs)
    for (const [idx, l] of Object.entries(doc.labels)) {
      const pairs = (classes[l.neuron_class] ??= []);
      if (!pairs.some(([dv, lr]) => dv === l.dv && lr === l.lr)) pairs.push([l.dv, l.lr]);
      const key = `${l.neuron_class}_${l.lr}_${l.dv}`;
      ((match[key] ??= {})[doc.dataset_id] ??= []).push(Number(idx));
    }
  const neuropal = docs.filter((d) => d.dataset_type.includes("neuropal"));
  return {
    class: classes,
    match,
    neuropal_datasets_data: neuropal.map((d) => ({
      paper: d.paper_id,
      dataset_id: d.dataset_id,
      dataset_name: d.dataset_id,
      dataset_type: d.dataset_type,
      n_neuron: d.n_neuron,
      n_labeled: d.n_labeled,
      max_t: d.max_t,
    })),
    papers: meta.papers,
    neuropal_dataset_type: Object.fromEntries(
      (meta.dataset_types.common ?? []).filter((t) => t.id === "neuropal").map((t) => [String(t.id), t]),
    ),
  };
}
