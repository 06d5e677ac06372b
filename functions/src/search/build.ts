import { ApiError } from "../errors.js";
import { FORMAT_VERSION, type FacetData, type IndexData } from "./data.js";
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

class F64Vec {
  data = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
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

/** Per-facet state while adding documents: values interned in arrival order, CSR per document. */
interface FacetBuild {
  ids: Map<string, number>;
  values: string[];
  offsets: U32Vec;
  docValues: U32Vec;
}

/**
 * Builds an immutable index from documents added one at a time, so a caller can stream records
 * in (a page of Firestore reads at a time) and drop each one once added: only the compact
 * postings (8 bytes each), the dictionary and the facet/sort columns are kept, never the
 * documents. Documents may come in any order; `finish()` numbers them in id order, so "ties broken
 * by id" is simply "ties broken by document number" at query time. Each posting stores its BM25F
 * impact, computed once in `finish()` from the field weights, field lengths and average lengths.
 */
export class IndexBuilder {
  private readonly opts: ReturnType<typeof buildOptionsSchema.parse>;
  private readonly ids: string[] = [];
  /** Field name → slot (arrival order); weight-0 fields get -1 and are not indexed. */
  private readonly slotOf = new Map<string, number>();
  private readonly slotNames: string[] = [];
  private readonly slotLens: U32Vec[] = [];
  private readonly termIds = new Map<string, number>();
  private readonly termList: string[] = [];
  /** Postings in arrival order: a document's are contiguous, from docStart[doc]. */
  private readonly pTerm = new U32Vec();
  private readonly pVec = new U32Vec();
  private readonly docStart = new U32Vec();
  // Distinct per-field tf vectors are few ("name:1", "description:2", …); interning them keeps
  // the per-posting state at 8 bytes whatever the number of fields.
  private readonly vecIds = new Map<string, number>();
  private readonly vecs: Uint32Array[] = [];
  private readonly facets = new Map<string, FacetBuild>();
  private readonly sorts = new Map<string, F64Vec>();
  private readonly words: string[] = [];
  private readonly local = new Map<number, Uint32Array>();
  private readonly own = new Set<number>();

  constructor(options: BuildOptions) {
    this.opts = buildOptionsSchema.parse(options);
    for (const name of Object.keys(this.opts.fields)) this.slot(name);
    for (const name of this.opts.facets ?? []) this.facet(name);
  }

  get size(): number {
    return this.ids.length;
  }

  private facet(name: string): FacetBuild {
    let f = this.facets.get(name);
    if (!f) {
      f = { ids: new Map(), values: [], offsets: new U32Vec(), docValues: new U32Vec() };
      // Documents added before this facet appeared have no value of it.
      for (let d = 0; d <= this.ids.length; d++) f.offsets.push(0);
      this.facets.set(name, f);
    }
    return f;
  }

  private slot(name: string): number {
    let s = this.slotOf.get(name);
    if (s === undefined) {
      if ((this.opts.fields[name] ?? this.opts.defaultFieldWeight) <= 0) s = -1;
      else {
        s = this.slotNames.length;
        this.slotNames.push(name);
        const lens = new U32Vec();
        for (let d = 0; d < this.ids.length; d++) lens.push(0);
        this.slotLens.push(lens);
      }
      this.slotOf.set(name, s);
    }
    return s;
  }

  add(doc: SearchDocument): void {
    const d = this.ids.length;
    const { words, local } = this;
    local.clear();
    this.docStart.push(this.pTerm.length);
    const lens: number[] = [];
    for (const [name, value] of Object.entries(doc.text)) {
      const s = this.slot(name);
      if (s < 0) continue;
      words.length = 0;
      if (typeof value === "string") indexTerms(value, words);
      else for (const v of value) indexTerms(v, words);
      lens[s] = (lens[s] ?? 0) + words.length;
      for (const w of words) {
        let t = this.termIds.get(w);
        if (t === undefined) {
          t = this.termList.length;
          this.termIds.set(w, t);
          this.termList.push(w);
        }
        let tfs = local.get(t);
        if (!tfs) local.set(t, (tfs = new Uint32Array(this.slotNames.length)));
        else if (tfs.length <= s) {
          const wider = new Uint32Array(this.slotNames.length);
          wider.set(tfs);
          local.set(t, (tfs = wider));
        }
        tfs[s] = tfs[s]! + 1;
      }
    }
    for (let s = 0; s < this.slotLens.length; s++) this.slotLens[s]!.push(lens[s] ?? 0);
    for (const [t, tfs] of local) {
      let end = tfs.length;
      while (end > 0 && tfs[end - 1] === 0) end--;
      const key = tfs.subarray(0, end).join(",");
      let v = this.vecIds.get(key);
      if (v === undefined) {
        v = this.vecs.length;
        this.vecIds.set(key, v);
        this.vecs.push(tfs.slice(0, end));
      }
      this.pTerm.push(t);
      this.pVec.push(v);
    }

    for (const [name, values] of Object.entries(doc.facets)) {
      if (this.opts.facets && !this.facets.has(name)) continue;
      const f = this.facet(name);
      this.own.clear();
      for (const value of values) {
        let id = f.ids.get(value);
        if (id === undefined) {
          id = f.values.length;
          f.ids.set(value, id);
          f.values.push(value);
        }
        if (!this.own.has(id)) {
          this.own.add(id);
          f.docValues.push(id);
        }
      }
    }
    for (const f of this.facets.values()) f.offsets.push(f.docValues.length);

    for (const [name, value] of Object.entries(doc.sort ?? {})) {
      let col = this.sorts.get(name);
      if (!col) {
        col = new F64Vec();
        for (let i = 0; i < d; i++) col.push(NaN);
        this.sorts.set(name, col);
      }
      col.push(Number.isFinite(value) ? value : NaN);
    }
    this.ids.push(doc.id);
    for (const col of this.sorts.values()) if (col.length === d) col.push(NaN);
  }

  /** The index over every document added. The builder must not be used afterwards. */
  finish(): IndexData {
    const { opts, ids, termList } = this;
    const n = ids.length;
    this.docStart.push(this.pTerm.length);
    this.termIds.clear();
    this.vecIds.clear();

    // Document numbers in id order: order[newDoc] = arrival number.
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => byCodeUnit(ids[a]!, ids[b]!));
    for (let i = 1; i < n; i++) {
      if (ids[order[i]!] === ids[order[i - 1]!]) {
        throw new ApiError("invalid_argument", `Duplicate document id ${JSON.stringify(ids[order[i]!])}`);
      }
    }

    // Fields in name order: the impact sums run in that order, whatever order fields arrived in.
    const slots = this.slotNames.map((name, s) => ({ name, s })).sort((a, b) => byCodeUnit(a.name, b.name));
    const weight = slots.map(({ name }) => opts.fields[name] ?? opts.defaultFieldWeight);
    const avg = slots.map(({ s }) => {
      const lens = this.slotLens[s]!.view();
      let sum = 0;
      for (let d = 0; d < n; d++) sum += lens[d]!;
      return n ? sum / n : 0;
    });
    const lensOf = slots.map(({ s }) => this.slotLens[s]!.view());

    // Sort the dictionary and move postings into term order, documents in id order within a term.
    const nt = termList.length;
    const termOrder = new Uint32Array(nt);
    for (let i = 0; i < nt; i++) termOrder[i] = i;
    termOrder.sort((a, b) => byCodeUnit(termList[a]!, termList[b]!));
    const rank = new Uint32Array(nt);
    for (let i = 0; i < nt; i++) rank[termOrder[i]!] = i;
    const np = this.pTerm.length;
    const terms = this.pTerm.view();
    const vecOf = this.pVec.view();
    const docStart = this.docStart.view();
    const impStart = new Uint32Array(nt + 1);
    for (let p = 0; p < np; p++) impStart[rank[terms[p]!]! + 1]!++;
    for (let t = 0; t < nt; t++) impStart[t + 1]! += impStart[t]!;

    const fill = impStart.slice(0, nt);
    const sortedDocs = new Uint32Array(np);
    const impacts = new Uint16Array(np);
    for (let d = 0; d < n; d++) {
      const old = order[d]!;
      for (let p = docStart[old]!; p < docStart[old + 1]!; p++) {
        const at = fill[rank[terms[p]!]!]!++;
        sortedDocs[at] = d;
        const tfs = this.vecs[vecOf[p]!]!;
        let tf = 0;
        for (let f = 0; f < slots.length; f++) {
          const raw = tfs[slots[f]!.s] ?? 0;
          if (raw === 0) continue;
          const norm = 1 - opts.b + (opts.b * lensOf[f]![old]!) / (avg[f]! || 1);
          tf += (weight[f]! * raw) / norm;
        }
        impacts[at] = Math.max(1, Math.round((tf / (opts.k1 + tf)) * 65535));
      }
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

    const idList = Array.from(order, (i) => ids[i]!);
    const idText = joinStrings(idList);
    idList.length = 0;
    const dict = joinStrings(Array.from(termOrder, (i) => termList[i]!));
    return {
      meta: {
        format: FORMAT_VERSION,
        builtAt: new Date().toISOString(),
        docCount: n,
        termCount: nt,
        postingCount: np,
        fields: Object.fromEntries(slots.map(({ name }, f) => [name, weight[f]!])),
        k1: opts.k1,
        b: opts.b,
      },
      ids: idText.text,
      idOffsets: idText.offsets,
      terms: dict.text,
      termOffsets: dict.offsets,
      postStart,
      impStart,
      postings: postings.data.slice(0, postings.length),
      impacts,
      facets: [...this.facets.keys()]
        .sort(byCodeUnit)
        .map((name) => finishFacet(this.facets.get(name)!, name, order)),
      sorts: [...this.sorts.keys()].sort(byCodeUnit).map((name) => ({
        name,
        values: Float64Array.from(order, (old) => this.sorts.get(name)!.data[old]!),
      })),
    };
  }
}

/** Builds an index over `documents` in one go (see `IndexBuilder` to stream them in). */
export function buildIndexData(documents: Iterable<SearchDocument>, options: BuildOptions): IndexData {
  const builder = new IndexBuilder(options);
  for (const doc of documents) builder.add(doc);
  return builder.finish();
}

/** A facet's columns in final document order, value ids renumbered to the sorted values. */
function finishFacet(f: FacetBuild, name: string, order: Uint32Array): FacetData {
  const sorted = f.values.map((v, i) => ({ v, i })).sort((a, b) => byCodeUnit(a.v, b.v));
  const renumber = new Uint32Array(sorted.length);
  sorted.forEach(({ i }, at) => (renumber[i] = at));
  const n = order.length;
  const offsets = f.offsets.view();
  const values = f.docValues.view();
  const docOffsets = new Uint32Array(n + 1);
  const docValues = new Uint32Array(values.length);
  let at = 0;
  for (let d = 0; d < n; d++) {
    const old = order[d]!;
    const from = at;
    for (let i = offsets[old]!; i < offsets[old + 1]!; i++) docValues[at++] = renumber[values[i]!]!;
    docValues.subarray(from, at).sort();
    docOffsets[d + 1] = at;
  }
  return { name, values: sorted.map(({ v }) => v), docOffsets, docValues };
}
