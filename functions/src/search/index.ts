/**
 * Full-text search for the harvested catalog (Firestore has none).
 *
 * Design: an immutable BM25F inverted index, built in one pass after each harvest run, serialized
 * to one binary blob that the caller keeps in Cloud Storage, and loaded lazily once per function
 * instance. Why this and not the alternatives:
 * - The catalog changes only when a harvest run ends, so an immutable index rebuilt per run needs no
 *   update path, no locking and no running service; a search cluster (Elastic, Typesense) would be
 *   the reference backend's operational cost for a few hundred thousand records, and SQLite FTS5
 *   on a function's disk would still need the query escaping and ranking that it gets wrong by
 *   default (hyphens and quotes are syntax, no ranking; see reference/search-files-connectome §A.3).
 * - Memory stays bounded: postings are varint-delta bytes, per-posting impacts are 16-bit, ids and
 *   terms are single joined strings with typed-array offsets, facets are CSR typed arrays. Load is
 *   one copy plus typed-array views.
 * - Ranking is BM25F with per-field weights fixed at build time, so each posting stores its
 *   saturated, length-normalised weight and a query only multiplies by idf and sums. Ties break by
 *   id (documents are numbered in id order), so ordering and cursors are stable.
 * - The tokenizer folds case and diacritics, splits on anything not a letter or digit, and also
 *   indexes joined identifiers whole (`CA1`, `hc328_unperturbed`, `2023-04-02`, `NMO_00001`). The
 *   query is tokenized by the same code: there is no query syntax, so nothing can be injected.
 * - Words are AND-ed; the last word (and any `word*`) is a prefix. If no document has every word,
 *   documents with the most words come first (`match: "some"`) rather than an empty page.
 * - Filters: values within a facet OR-ed, facets AND-ed. Facet counts cover all values (not the
 *   reference's first 10), each computed without that facet's own filter (multi-select facets).
 */
export { buildIndexData, IndexBuilder } from "./build.js";
export { decodeIndex, encodeIndex } from "./codec.js";
export type { IndexMeta } from "./data.js";
export { MAX_PREFIX_EXPANSIONS, MAX_QUERY_CHARS, MAX_QUERY_TERMS, SearchIndex } from "./engine.js";
export { createIndexLoader, type IndexLoader } from "./loader.js";
export {
  buildOptionsSchema,
  MAX_LIMIT,
  searchDocumentSchema,
  searchParamsSchema,
  type BuildOptions,
  type FacetCount,
  type SearchDocument,
  type SearchHit,
  type SearchParams,
  type SearchResult,
} from "./schema.js";
export { MAX_TERM_LENGTH, normalize, STOPWORDS } from "./tokenize.js";

import { SearchIndex } from "./engine.js";
import type { BuildOptions, SearchDocument } from "./schema.js";

/** Builds an index over `documents`; see `BuildOptions` for field weights and facets. */
export function buildIndex(documents: Iterable<SearchDocument>, options: BuildOptions): SearchIndex {
  return SearchIndex.build(documents, options);
}

/** Reads a blob written by `SearchIndex.serialize()`. */
export function deserialize(blob: Uint8Array): SearchIndex {
  return SearchIndex.deserialize(blob);
}
