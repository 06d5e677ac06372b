import { ApiError } from "../errors.js";
import { FORMAT_VERSION, type FacetData, type IndexData, type SortData } from "./data.js";
import { buildOptionsSchema, type BuildOptions, type SearchDocument } from "./schema.js";
import { indexTerms } from "./tokenize.js";

/** A growable typed array: pushing millions of postings into plain arrays would cost 8+ bytes each. */
class U32Vec {
  data = new Uint32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Uint32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Uint32Array {
    return this.data.subarray(0, this.length);
  }
}

class ByteVec {
  data = new Uint8Array(1 << 16);
  length = 0;
  varint(v: number): void {
    if (this.length + 5 > this.data.length) {
      const next = new Uint8Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    while (v >= 128) {
      this.data[this.length++] = (v & 127) | 128;
      v >>>= 7;
    }
    this.data[this.length++] = v;
  }
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function joinStrings(list: readonly string[]): { text: string; offsets: Uint32Array } {
  const offsets = new Uint32Array(list.length + 1);
  let at = 0;
  for (let i = 0; i < list.length; i++) {
    at += list[i]!.length;
    offsets[i + 1] = at;
  }
  return { text: list.join(""), offsets };
}

/**
 * Builds an immutable index. Documents are numbered in id order, so "ties broken by id" is simply
 * "ties broken by document number" at query time. Each posting stores its BM25F impact, computed
 * here once from the field weights, field lengths and average lengths.
 */
export function buildIndexData(documents: Iterable<SearchDocument>, options: BuildOptions): IndexData {
  const opts = buildOptionsSchema.parse(options);
  const docs = Array.from(documents).sort((a, b) => byCodeUnit(a.id, b.id));
  for (let i = 1; i < docs.length; i++) {
    if (docs[i]!.id === docs[i - 1]!.id) {
      throw new ApiError("invalid_argument", `Duplicate document id ${JSON.stringify(docs[i]!.id)}`);
    }
  }
  const n = docs.length;

  const fieldNames = new Set(Object.keys(opts.fields));
  const facetNames = new Set(opts.facets ?? []);
  const sortNames = new Set<string>();
  for (const d of docs) {
    for (const f of Object.keys(d.text)) fieldNames.add(f);
    if (!opts.facets) for (const f of Object.keys(d.facets)) facetNames.add(f);
    for (const s of Object.keys(d.sort ?? {})) sortNames.add(s);
  }
  const fields = [...fieldNames]
    .sort(byCodeUnit)
    .map((name) => ({ name, weight: opts.fields[name] ?? opts.defaultFieldWeight }))
    .filter((f) => f.weight > 0);
  const nf = fields.length;

  const termIds = new Map<string, number>();
  const termList: string[] = [];
  const pTerm = new U32Vec();
  const pDoc = new U32Vec();
  const pVec = new U32Vec();
  // Distinct per-field tf vectors are few ("name:1", "description:2", …); interning them keeps
  // the per-posting scratch at 12 bytes whatever the number of fields.
  const vecIds = new Map<string, number>();
  const vecs: Uint32Array[] = [];
  const fieldLen = new Uint32Array(n * nf);
  const lenSum = new Float64Array(nf);

  const words: string[] = [];
  const local = new Map<number, Uint32Array>();
  for (let d = 0; d < n; d++) {
    const doc = docs[d]!;
    local.clear();
    for (let f = 0; f < nf; f++) {
      const value = doc.text[fields[f]!.name];
      if (value === undefined) continue;
      words.length = 0;
      if (typeof value === "string") indexTerms(value, words);
      else for (const v of value) indexTerms(v, words);
      fieldLen[d * nf + f] = words.length;
      lenSum[f] = lenSum[f]! + words.length;
      for (const w of words) {
        let t = termIds.get(w);
        if (t === undefined) {
          t = termList.length;
          termIds.set(w, t);
          termList.push(w);
        }
        let tfs = local.get(t);
        if (!tfs) local.set(t, (tfs = new Uint32Array(nf)));
        tfs[f] = tfs[f]! + 1;
      }
    }
    for (const [t, tfs] of local) {
      const key = tfs.join(",");
      let v = vecIds.get(key);
      if (v === undefined) {
        v = vecs.length;
        vecIds.set(key, v);
        vecs.push(tfs);
      }
      pTerm.push(t);
      pDoc.push(d);
      pVec.push(v);
    }
  }
  termIds.clear();

  // Sort the dictionary and move postings into term order (a counting sort keeps doc order).
  const order = termList.map((_, i) => i).sort((a, b) => byCodeUnit(termList[a]!, termList[b]!));
  const rank = new Uint32Array(termList.length);
  for (let i = 0; i < order.length; i++) rank[order[i]!] = i;
  const nt = termList.length;
  const np = pTerm.length;
  const impStart = new Uint32Array(nt + 1);
  const terms = pTerm.view();
  for (let p = 0; p < np; p++) impStart[rank[terms[p]!]! + 1]!++;
  for (let t = 0; t < nt; t++) impStart[t + 1]! += impStart[t]!;

  const avg = Array.from(lenSum, (s) => (n ? s / n : 0));
  const fill = impStart.slice(0, nt);
  const sortedDocs = new Uint32Array(np);
  const impacts = new Uint16Array(np);
  const docsOf = pDoc.view();
  const vecOf = pVec.view();
  for (let p = 0; p < np; p++) {
    const t = rank[terms[p]!]!;
    const at = fill[t]!++;
    const d = docsOf[p]!;
    sortedDocs[at] = d;
    const tfs = vecs[vecOf[p]!]!;
    let tf = 0;
    for (let f = 0; f < nf; f++) {
      const raw = tfs[f]!;
      if (raw === 0) continue;
      const norm = 1 - opts.b + (opts.b * fieldLen[d * nf + f]!) / (avg[f]! || 1);
      tf += (fields[f]!.weight * raw) / norm;
    }
    impacts[at] = Math.max(1, Math.round((tf / (opts.k1 + tf)) * 65535));
  }

  const postings = new ByteVec();
  const postStart = new Uint32Array(nt + 1);
  for (let t = 0; t < nt; t++) {
    let prev = 0;
    for (let i = impStart[t]!; i < impStart[t + 1]!; i++) {
      postings.varint(sortedDocs[i]! - prev);
      prev = sortedDocs[i]!;
    }
    postStart[t + 1] = postings.length;
  }

  const ids = joinStrings(docs.map((d) => d.id));
  const dict = joinStrings(order.map((i) => termList[i]!));
  return {
    meta: {
      format: FORMAT_VERSION,
      builtAt: new Date().toISOString(),
      docCount: n,
      termCount: nt,
      postingCount: np,
      fields: Object.fromEntries(fields.map((f) => [f.name, f.weight])),
      k1: opts.k1,
      b: opts.b,
    },
    ids: ids.text,
    idOffsets: ids.offsets,
    terms: dict.text,
    termOffsets: dict.offsets,
    postStart,
    impStart,
    postings: postings.data.slice(0, postings.length),
    impacts,
    facets: [...facetNames].sort(byCodeUnit).map((name) => buildFacet(docs, name)),
    sorts: [...sortNames].sort(byCodeUnit).map((name) => buildSort(docs, name)),
  };
}

function buildFacet(docs: readonly SearchDocument[], name: string): FacetData {
  const distinct = new Set<string>();
  for (const d of docs) for (const v of d.facets[name] ?? []) distinct.add(v);
  const values = [...distinct].sort(byCodeUnit);
  const idOf = new Map(values.map((v, i) => [v, i]));
  const docOffsets = new Uint32Array(docs.length + 1);
  const docValues = new U32Vec();
  for (let d = 0; d < docs.length; d++) {
    const own = new Set((docs[d]!.facets[name] ?? []).map((v) => idOf.get(v)!));
    for (const v of [...own].sort((a, b) => a - b)) docValues.push(v);
    docOffsets[d + 1] = docValues.length;
  }
  return { name, values, docOffsets, docValues: docValues.view().slice() };
}

function buildSort(docs: readonly SearchDocument[], name: string): SortData {
  const values = new Float64Array(docs.length).fill(NaN);
  for (let d = 0; d < docs.length; d++) {
    const v = docs[d]!.sort?.[name];
    if (v !== undefined && Number.isFinite(v)) values[d] = v;
  }
  return { name, values };
}
