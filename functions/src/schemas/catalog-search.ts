/**
 * Shapes of the catalog search API and of the index pointer: the source of their types
 * (`z.infer`), the routes' response schemas, and the parser of the pointer read from Firestore.
 */
import { z } from "zod";
import { catalogRecordSchema } from "./catalog.js";

/** `catalog_index/current`: which blob instances load, and what was built. */
export const indexPointerSchema = z.object({
  /** Null when the build was not published to Cloud Storage (no bucket configured). */
  bucket: z.string().nullable(),
  object: z.string().nullable(),
  generation: z.string().nullable(),
  md5: z.string().nullable(),
  records: z.number().int(),
  bytes: z.number().int(),
  builtAt: z.string(),
  /** When the build started reading: a later start saw at least as much data. */
  startedAt: z.string(),
  buildMs: z.number(),
  /** What asked for it: a run id, `admin:<email>`, … */
  trigger: z.string(),
});
export type IndexPointer = z.infer<typeof indexPointerSchema>;

export const facetCountSchema = z.object({ value: z.string(), count: z.number().int() });

/** What a search hit shows: enough for a result list; the full record is one GET away. */
export const recordSummarySchema = catalogRecordSchema
  .pick({
    id: true,
    source: true,
    sourceId: true,
    kind: true,
    name: true,
    description: true,
    species: true,
    brainRegions: true,
    cellTypes: true,
    licence: true,
    withdrawn: true,
    sourceModified: true,
    harvestedAt: true,
  })
  .extend({ fileCount: z.number().int(), score: z.number() });
export type RecordSummary = z.infer<typeof recordSummarySchema>;

export const catalogSearchResponseSchema = z.object({
  total: z.number().int(),
  hits: z.array(recordSummarySchema),
  facets: z.record(z.string(), z.array(facetCountSchema)),
  next: z.string().nullable(),
  match: z.enum(["all", "some", "none"]),
  index: z.object({
    builtAt: z.string(),
    records: z.number().int(),
    origin: z.enum(["published", "local"]),
  }),
});
export type CatalogSearchResponse = z.infer<typeof catalogSearchResponseSchema>;
