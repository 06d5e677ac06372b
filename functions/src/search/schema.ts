import { z } from "zod";

/**
 * What the engine indexes. It knows nothing of catalog records: the caller maps a record to named
 * text fields (weighted at build time), facet values (filterable, counted) and numeric sort keys.
 */
export const searchDocumentSchema = z.object({
  id: z.string().min(1),
  text: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
  facets: z.record(z.string(), z.array(z.string())),
  sort: z.record(z.string(), z.number()).optional(),
});
export type SearchDocument = z.infer<typeof searchDocumentSchema>;

export const buildOptionsSchema = z.object({
  /** Field → weight. A field not listed gets `defaultFieldWeight`; weight 0 leaves it unindexed. */
  fields: z.record(z.string(), z.number().min(0)),
  defaultFieldWeight: z.number().min(0).default(1),
  /** Facets to index; by default every facet name seen in the documents. */
  facets: z.array(z.string()).optional(),
  /** BM25 term-frequency saturation and length normalisation. */
  k1: z.number().positive().default(1.2),
  b: z.number().min(0).max(1).default(0.75),
});
export type BuildOptions = z.input<typeof buildOptionsSchema>;

export const MAX_LIMIT = 1000;

export const searchParamsSchema = z
  .object({
    /** Free text; every word must match (the last one, or any written `word*`, as a prefix). */
    q: z.string().default(""),
    /** Facet → accepted values. Values of one facet are OR-ed; facets are AND-ed. */
    filters: z.record(z.string(), z.array(z.string())).default({}),
    limit: z.number().int().min(0).max(MAX_LIMIT).default(20),
    offset: z.number().int().min(0).optional(),
    cursor: z.string().optional(),
    /** Keep at most this many values per facet (the most frequent). Default: all of them. */
    facetLimit: z.number().int().min(0).optional(),
    /** Which facets to count; default all. */
    facets: z.array(z.string()).optional(),
    /** `relevance` (default), or a sort key: `key` ascending, `-key` descending. */
    sort: z.string().default("relevance"),
    /** Treat the last word as a prefix (search-as-you-type). */
    prefix: z.boolean().default(true),
  })
  .refine((p) => p.offset === undefined || p.cursor === undefined, {
    message: "Give either offset or cursor, not both",
    path: ["cursor"],
  });
export type SearchParams = z.input<typeof searchParamsSchema>;

export interface FacetCount {
  value: string;
  count: number;
}

export interface SearchHit {
  id: string;
  score: number;
}

export interface SearchResult {
  /** Number of documents matching the query and filters (not just this page). */
  total: number;
  hits: SearchHit[];
  /**
   * Value counts per facet over the matching documents. A facet that is filtered on is counted
   * as if its own filter were absent, so the values a user could add to the selection still show.
   */
  facets: Record<string, FacetCount[]>;
  /** Opaque; pass back as `cursor` for the next page. Absent on the last page. */
  nextCursor?: string;
  /**
   * `all`: every query word matched. `some`: no document had them all, so documents matching the
   * most words come first. `none`: the query had no words, so every (filtered) document matches.
   */
  match: "all" | "some" | "none";
}
