/**
 * The in-memory (and, section for section, on-disk) layout of an index. Everything large is a
 * typed array or one joined string, so 300,000 documents cost a few tens of megabytes and a handful
 * of heap objects rather than millions of small ones.
 */

export const FORMAT_VERSION = 1;

export interface IndexMeta {
  format: number;
  builtAt: string;
  docCount: number;
  termCount: number;
  postingCount: number;
  /** Weight of every indexed field. */
  fields: Record<string, number>;
  k1: number;
  b: number;
}

export interface FacetData {
  name: string;
  /** Distinct values, sorted; a value's id is its position. */
  values: string[];
  /** CSR: document d has value ids docValues[docOffsets[d] .. docOffsets[d+1]). */
  docOffsets: Uint32Array;
  docValues: Uint32Array;
}

export interface SortData {
  name: string;
  /** One per document; NaN where the document has no value. */
  values: Float64Array;
}

export interface IndexData {
  meta: IndexMeta;
  /** Document ids joined, sorted by code unit so a document number orders like its id. */
  ids: string;
  idOffsets: Uint32Array;
  /** Terms joined, sorted by code unit so a prefix is one contiguous range. */
  terms: string;
  termOffsets: Uint32Array;
  /** Byte offset of each term's postings in `postings` (length termCount + 1). */
  postStart: Uint32Array;
  /** Index of each term's first posting in `impacts`; consecutive differences are the df. */
  impStart: Uint32Array;
  /** Document-number gaps, LEB128 varints: small and fast enough to decode on every query. */
  postings: Uint8Array;
  /** Per posting, the BM25F saturated term weight tf/(k1+tf) scaled to 0..65535; idf is applied at query time. */
  impacts: Uint16Array;
  facets: FacetData[];
  sorts: SortData[];
}
