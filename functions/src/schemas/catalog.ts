/**
 * The catalog: one uniform record for everything harvested from public neuroscience sources, and
 * the record of each harvest run. These zod schemas are the source of the TypeScript types and of
 * the OpenAPI description.
 *
 * Unlike the reference backend's uniform format, every record carries provenance (source URL,
 * licence, citations), timestamps, a content hash and a withdrawn flag, so a client can tell what
 * changed, what vanished upstream and how to cite it.
 */
import { z } from "zod";

export const CATALOG_SOURCES = ["neuromorpho", "hippocampome", "modeldb", "dandi"] as const;
export const catalogSourceSchema = z.enum(CATALOG_SOURCES);
export type CatalogSource = z.infer<typeof catalogSourceSchema>;

export const CATALOG_KINDS = [
  "morphology",
  "electrophysiology",
  "connection",
  "neuron type",
  "model",
  "dataset",
] as const;
export const catalogKindSchema = z.enum(CATALOG_KINDS);
export type CatalogKind = z.infer<typeof catalogKindSchema>;

/** ISO 8601 instants are kept as strings so the content hash and the JSON API see the same value. */
const isoDateTime = z.iso.datetime({ offset: true });

/**
 * Security review L9: `z.url()` accepts `javascript:`, `data:` and `file:`, which a UI rendering
 * `links[].url` as an href would run. Catalog URLs are http(s) only; links and citation URLs with
 * another scheme are dropped rather than failing the whole record.
 */
const webUrl = z.url({ protocol: /^https?$/ });
const isWebUrl = (v: unknown) => webUrl.safeParse(v).success;

export const catalogFileSchema = z.object({
  url: webUrl,
  /** Lower-case file format, e.g. `swc`, `asc`, `zip`, `nwb`. */
  format: z.string().min(1),
  /** Name to use inside a download archive; unique within the record. */
  name: z.string().min(1),
  /** Bytes, when the source states it; never obtained by downloading the file. */
  size: z.number().int().nonnegative().optional(),
  /** What the file is, e.g. `standardized`, `original`, `model archive`. */
  role: z.string().optional(),
});
export type CatalogFile = z.infer<typeof catalogFileSchema>;

export const catalogLinkSchema = z.object({
  /** `page` (human page), `api` (machine record), `thumbnail`, `doi`, `related`. */
  rel: z.string().min(1),
  url: webUrl,
  label: z.string().optional(),
});
export type CatalogLink = z.infer<typeof catalogLinkSchema>;

export const catalogCitationSchema = z.object({
  text: z.string().min(1),
  doi: z.string().optional(),
  pmid: z.string().optional(),
  url: webUrl.optional(),
});
export type CatalogCitation = z.infer<typeof catalogCitationSchema>;

/** The part of a record that comes from the source; its hash decides whether a write is needed. */
export const catalogContentSchema = z.object({
  /** `source:sourceId`; stable across runs. */
  id: z.string().min(3),
  source: catalogSourceSchema,
  sourceId: z.string().min(1),
  kind: catalogKindSchema,
  name: z.string().min(1),
  description: z.string(),
  species: z.array(z.string()),
  brainRegions: z.array(z.string()),
  cellTypes: z.array(z.string()),
  layers: z.array(z.string()),
  markers: z.array(z.string()),
  files: z.array(catalogFileSchema),
  links: z.preprocess(
    (v) => (Array.isArray(v) ? v.filter((l) => isWebUrl((l as { url?: unknown } | null)?.url)) : v),
    z.array(catalogLinkSchema),
  ),
  /** SPDX-style identifier (`CC-BY-4.0`) or null when the source states none. */
  licence: z.string().nullable(),
  citations: z.preprocess(
    (v) =>
      Array.isArray(v)
        ? v.map((c: unknown) => {
            if (c === null || typeof c !== "object" || !("url" in c) || isWebUrl(c.url)) return c;
            const { url: _dropped, ...rest } = c as Record<string, unknown>;
            return rest;
          })
        : v,
    z.array(catalogCitationSchema),
  ),
  /** Source-specific facets (channels, model concepts, archive, neurotransmitter, …). */
  attributes: z.record(z.string(), z.array(z.string())),
  /** The source's own modification time or version date, when it has one. */
  sourceModified: z.string().nullable(),
  /** The source's version label (ModelDB ver_number, DANDI version), when it has one. */
  sourceVersion: z.string().nullable(),
});
export type CatalogContent = z.infer<typeof catalogContentSchema>;

export const catalogRecordSchema = catalogContentSchema.extend({
  /** When this content was last written (created, changed, withdrawn or restored). */
  harvestedAt: isoDateTime,
  /** sha256 of the canonical JSON of the content fields. */
  contentHash: z.string().regex(/^[0-9a-f]{64}$/),
  /**
   * The run that last wrote this record. Runs that find the record unchanged do not rewrite it
   * (that is the point of the hash); which runs saw it is kept per run under `seen`.
   */
  lastSeenRun: z.string(),
  /** True once a complete run no longer found the record upstream; it is kept, not deleted. */
  withdrawn: z.boolean(),
  withdrawnAt: isoDateTime.nullable(),
});
export type CatalogRecord = z.infer<typeof catalogRecordSchema>;

export const RUN_STATUSES = ["running", "paused", "complete", "partial", "failed"] as const;
export const runStatusSchema = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof runStatusSchema>;

export const runCountsSchema = z.object({
  fetched: z.number().int().nonnegative(),
  created: z.number().int().nonnegative(),
  updated: z.number().int().nonnegative(),
  unchanged: z.number().int().nonnegative(),
  withdrawn: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  /** Listed records that could not be read; they never make a run partial (issue 11). */
  unreadable: z.number().int().nonnegative().default(0),
});
export type RunCounts = z.infer<typeof runCountsSchema>;

export const runErrorSchema = z.object({
  at: isoDateTime,
  message: z.string(),
  url: z.string().optional(),
  /** A skipped page or record makes the run `partial`: nothing is withdrawn after it. */
  fatal: z.boolean().optional(),
});
export type RunError = z.infer<typeof runErrorSchema>;

export const runRecordSchema = z.object({
  id: z.string(),
  source: catalogSourceSchema,
  /** `incremental` runs see only part of the source and therefore never withdraw anything. */
  mode: z.enum(["full", "incremental"]),
  status: runStatusSchema,
  startedAt: isoDateTime,
  updatedAt: isoDateTime,
  finishedAt: isoDateTime.nullable(),
  /** How many invocations have worked on this run (more than one after a pause or a crash). */
  invocations: z.number().int().nonnegative(),
  limit: z.number().int().positive().nullable(),
  counts: runCountsSchema,
  /** The most recent errors, newest last (capped); `counts.errors` has the total. */
  errors: z.array(runErrorSchema),
  /** The unreadable records with their reasons, first ones kept (capped); `counts.unreadable` has the total. */
  unreadable: z
    .array(z.object({ id: z.string().optional(), reason: z.string(), url: z.string().optional() }))
    .default([]),
  progress: z.object({
    phase: z.enum(["harvest", "sweep", "done"]),
    step: z.number().int().nonnegative(),
    done: z.number().int().nonnegative(),
    total: z.number().int().nonnegative().nullable(),
  }),
  /** Where the next invocation continues; opaque to clients. */
  checkpoint: z.object({
    /** The source's cursor as JSON text (Firestore cannot hold nested arrays). */
    cursor: z.string().nullable(),
    sweepAfter: z.string().nullable(),
  }),
  /** Consecutive invocations that ended on an upstream failure; the run fails at a cap. */
  failures: z.number().int().nonnegative(),
  /** False once anything was skipped, truncated by `limit` or listed incrementally. */
  exhaustive: z.boolean(),
  /** Highest source modification time seen, for the next incremental run. */
  watermark: z.string().nullable(),
});
export type RunRecord = z.infer<typeof runRecordSchema>;

/** Per-source harvest state in `catalog_state/{source}`: the active run and its lease. */
export const sourceStateSchema = z.object({
  source: catalogSourceSchema,
  activeRunId: z.string().nullable(),
  leaseOwner: z.string().nullable(),
  /** Epoch milliseconds; a lease past this instant belongs to a worker presumed dead. */
  leaseExpiresAt: z.number().nullable(),
  lastCompleteRunId: z.string().nullable(),
  watermark: z.string().nullable(),
});
export type SourceState = z.infer<typeof sourceStateSchema>;

export const CATALOG_COLLECTIONS = {
  records: "catalog_records",
  runs: "catalog_runs",
  state: "catalog_state",
  /** Subcollection of a run: ids seen per step, for mark-and-sweep. */
  seen: "seen",
} as const;

/**
 * Firestore document id of a catalog id. Record ids may contain `/` (not allowed in a document
 * id); percent-encoding `%` first keeps the mapping reversible.
 */
export function catalogDocId(id: string): string {
  const escaped = id.replace(/%/g, "%25").replace(/\//g, "%2F");
  // Firestore reserves `__x__`, `.` and `..` (a 500 before, security review L12); no stored
  // record can have such an id, so escaping their first character changes no existing one.
  if (/^__.*__$/.test(escaped) || escaped === "." || escaped === "..")
    return (escaped.startsWith("_") ? "%5F" : "%2E") + escaped.slice(1);
  return escaped;
}

/** The document shape the search index builds from (see functions/src/search). */
export interface SearchDocument {
  id: string;
  text: Record<string, string | string[]>;
  facets: Record<string, string[]>;
}

/** Maps a record to the search index's document: text to rank on, facets to filter and count. */
export function toSearchDocument(record: CatalogContent & { withdrawn?: boolean }): SearchDocument {
  const attributeText = Object.values(record.attributes).flat();
  const facets: Record<string, string[]> = {
    source: [record.source],
    kind: [record.kind],
    species: record.species,
    brainRegions: record.brainRegions,
    cellTypes: record.cellTypes,
    layers: record.layers,
    markers: record.markers,
    licence: record.licence ? [record.licence] : [],
    fileFormats: [...new Set(record.files.map((f) => f.format))],
    status: [record.withdrawn ? "withdrawn" : "current"],
  };
  for (const [key, values] of Object.entries(record.attributes)) facets[`attributes.${key}`] = values;
  return {
    id: record.id,
    text: {
      name: record.name,
      description: record.description,
      species: record.species,
      brainRegions: record.brainRegions,
      cellTypes: record.cellTypes,
      layers: record.layers,
      markers: record.markers,
      attributes: attributeText,
      citations: record.citations.map((c) => c.text),
      sourceId: record.sourceId,
    },
    facets,
  };
}
