/**
 * Activity ingest: WormWideWeb's GCaMP dataset JSON (the normalised shape, or the legacy one mapped
 * onto it), each file checked against `checksums.json`. Metadata goes to Firestore
 * (`activity_datasets/{uid}`, `activity_meta/catalog`); the large parts — one gzipped trace object per
 * neuron, behaviour and encoding — go to Cloud Storage under `activity/{uid}/{sha256}/`, so a handler
 * reads only the bytes it serves. Objects are written before the document that points at them, and
 * names carry the file's hash, so re-running with the same files writes the same objects and
 * documents (idempotent) and a changed file never mixes with the old version.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import type { Storage } from "@google-cloud/storage";
import type { Firestore } from "firebase-admin/firestore";
import { z } from "zod";
import {
  activityMetaSchema,
  datasetTypesSchema,
  ENCODING_KEYS,
  legacyDatasetSchema,
  normalizedDatasetSchema,
  paperSchema,
  type ActivityDatasetDoc,
} from "../../schemas/activity.js";

export const ACTIVITY_DATASETS = "activity_datasets";
export const ACTIVITY_META = "activity_meta";
export const CATALOG_DOC = "catalog";
const MAX_FILE_BYTES = 256 * 1024 * 1024;

/** The common in-memory form both input shapes map to. */
export interface ActivityDataset {
  doc: ActivityDatasetDoc;
  traces: number[][];
  behavior: {
    velocity: number[];
    head: number[];
    angular: number[];
    pumping?: number[];
    reversals: unknown;
    events: unknown;
  };
  encoding?: Record<string, unknown>;
}

export const objectPrefix = (doc: Pick<ActivityDatasetDoc, "dataset_id" | "version">) =>
  `activity/${doc.dataset_id}/${doc.version}/`;

const truncate = (digits: number) => {
  const f = 10 ** digits;
  return (x: number) => Math.trunc(x * f) / f;
};
/** WormWideWeb truncates (not rounds) traces to 6 decimals and behaviour to 5. */
export const trunc6 = truncate(6);
export const trunc5 = truncate(5);

function lrdv(code: string | undefined): string {
  if (!code) return "?";
  const c = code.toLowerCase();
  if (c === "undefined") return "x";
  return ["l", "r", "d", "v"].includes(c) ? c : "?";
}

export function toActivityDataset(json: unknown, sha256: string): ActivityDataset {
  const norm = normalizedDatasetSchema.safeParse(json);
  const labels = (
    raw: Record<
      string,
      { label: string; neuron_class: string; LR?: string | undefined; DV?: string | undefined }
    >,
  ) =>
    Object.fromEntries(
      Object.entries(raw).map(([idx, l]) => [
        idx,
        { label: l.label, neuron_class: l.neuron_class, lr: lrdv(l.LR), dv: lrdv(l.DV) },
      ]),
    );
  if (norm.success) {
    const d = norm.data;
    const encoding =
      d.encoding && Object.keys(d.encoding).length > 0 ? (d.encoding as Record<string, unknown>) : undefined;
    const lab = labels(d.label ?? {});
    return {
      doc: {
        dataset_id: d.metadata.uid,
        paper_id: d.metadata.paper_id,
        dataset_type: d.metadata.dataset_type,
        n_neuron: d.gcamp.trace_array.length,
        n_labeled: Object.keys(lab).length,
        max_t: d.timing.max_t,
        avg_timestep: d.timing.mean_timestep,
        labels: lab,
        has_encoding: encoding !== undefined,
        public: true,
        version: sha256,
      },
      traces: d.gcamp.trace_array,
      behavior: {
        velocity: d.behavior.velocity,
        head: d.behavior.head_angle,
        angular: d.behavior.angular_velocity,
        ...(d.behavior.pumping ? { pumping: d.behavior.pumping } : {}),
        reversals: d.behavior.reversal_events,
        events: d.timing.event ?? {},
      },
      ...(encoding ? { encoding } : {}),
    };
  }
  const legacy = legacyDatasetSchema.safeParse(json);
  if (!legacy.success)
    throw new Error(
      `neither the normalised nor the legacy dataset shape: ${norm.error.issues[0]?.message ?? ""}`,
    );
  const d = legacy.data;
  const enc = Object.fromEntries(
    ENCODING_KEYS.filter((k) => (d as Record<string, unknown>)[k] !== undefined).map((k) => [
      k,
      (d as Record<string, unknown>)[k],
    ]),
  );
  const lab = labels(d.labeled ?? {});
  return {
    doc: {
      dataset_id: d.uid,
      paper_id: "atanas_kim_2023",
      dataset_type: d.dataset_type,
      n_neuron: d.trace_array.length,
      n_labeled: Object.keys(lab).length,
      max_t: d.max_t,
      avg_timestep: d.avg_timestep,
      labels: lab,
      has_encoding: Object.keys(enc).length > 0,
      public: true,
      version: sha256,
    },
    traces: d.trace_array,
    behavior: {
      velocity: d.velocity,
      head: d.head_curvature,
      angular: d.angular_velocity,
      ...(d.pumping ? { pumping: d.pumping } : {}),
      reversals: d.reversal_events,
      events: d.events ?? {},
    },
    ...(Object.keys(enc).length > 0 ? { encoding: enc } : {}),
  };
}

export interface ActivityPlan {
  meta: z.infer<typeof activityMetaSchema>;
  datasets: ActivityDataset[];
}

export async function readActivityFolder(dir: string): Promise<ActivityPlan> {
  const read = async (file: string) => {
    const bytes = await readFile(path.join(dir, file));
    if (bytes.length > MAX_FILE_BYTES) throw new Error(`${file} is larger than ${MAX_FILE_BYTES} bytes`);
    return bytes;
  };
  const sums = z
    .object({ activity: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)) })
    .parse(JSON.parse((await read("checksums.json")).toString("utf8"))).activity;
  const papers = z.array(paperSchema).parse(JSON.parse((await read("papers.json")).toString("utf8")));
  const types = datasetTypesSchema.parse(JSON.parse((await read("dataset_types.json")).toString("utf8")));
  const datasets: ActivityDataset[] = [];
  for (const file of (await readdir(path.join(dir, "datasets"))).filter((f) => f.endsWith(".json")).sort()) {
    const bytes = await read(path.join("datasets", file));
    const sha = createHash("sha256").update(bytes).digest("hex");
    if (!sums[file]) throw new Error(`${file} is not in checksums.json`);
    if (sums[file] !== sha)
      throw new Error(`${file}: SHA-256 ${sha} does not match the manifest's ${sums[file]}`);
    try {
      datasets.push(toActivityDataset(JSON.parse(bytes.toString("utf8")), sha));
    } catch (err) {
      throw new Error(`${file}: ${(err as Error).message}`);
    }
  }
  return { meta: { papers, dataset_types: types }, datasets };
}

export interface ActivityWriteDeps {
  db: Firestore;
  storage: Storage;
  bucket: string;
}

const gz = (value: unknown) => gzipSync(JSON.stringify(value));

export async function writeActivity(deps: ActivityWriteDeps, plan: ActivityPlan): Promise<number> {
  const bucket = deps.storage.bucket(deps.bucket);
  const save = (name: string, value: unknown) =>
    bucket.file(name).save(gz(value), { resumable: false, contentType: "application/gzip" });
  for (const ds of plan.datasets) {
    const prefix = objectPrefix(ds.doc);
    for (const [i, trace] of ds.traces.entries())
      await save(`${prefix}trace/${i + 1}.json.gz`, trace.map(trunc6));
    await save(`${prefix}behavior.json.gz`, ds.behavior);
    if (ds.encoding) await save(`${prefix}encoding.json.gz`, ds.encoding);
    await deps.db.collection(ACTIVITY_DATASETS).doc(ds.doc.dataset_id).set(ds.doc);
  }
  await deps.db.collection(ACTIVITY_META).doc(CATALOG_DOC).set(plan.meta);
  return plan.datasets.length;
}
