import { createHash } from "node:crypto";
import { ApiError, toIssues } from "../errors.js";
import { buildIndexData } from "./build.js";
import { decodeIndex, encodeIndex } from "./codec.js";
import type { FacetData, IndexData, IndexMeta, SortData } from "./data.js";
import {
  searchParamsSchema,
  type BuildOptions,
  type FacetCount,
  type SearchDocument,
  type SearchHit,
  type SearchParams,
  type SearchResult,
} from "./schema.js";
import { groups, normalize, STOPWORDS } from "./tokenize.js";

/** Only this much of a query is read; the rest of a pasted essay cannot cost more. */
export const MAX_QUERY_CHARS = 2048;
/** Distinct query words kept; further ones are ignored. */
export const MAX_QUERY_TERMS = 32;
/** A prefix expands to at most this many terms, the most frequent first. */
export const MAX_PREFIX_EXPANSIONS = 256;
/**
 * Security review L4 (CPU amplification): one query may expand at most this many prefix words,
 * and all its prefixes together to at most this many terms; further prefix words match exactly.
 */
export const MAX_PREFIX_WORDS = 4;
export const MAX_QUERY_EXPANSIONS = 512;
/** A completion of a prefix scores a little below the exact word, so `ca1` ranks CA1 before CA10. */
const PREFIX_FACTOR = 0.8;
/** Scores stay below this, so "number of words matched" can be added as a higher-order digit. */
const SCORE_CEILING = 1000;

interface Expansion {
  term: number;
  factor: number;
}
interface QueryWord {
  key: string;
  expansions: Expansion[];
  df: number;
}

/** A cursor names the last hit of a page by its sort value and id, so it survives an index rebuild. */
interface CursorState {
  h: string;
  p: number | null;
  id: string;
}

/**
 * Orders candidates by primary value descending, then document number (= id) ascending, keeping
 * only the best `k`. The root is the worst kept entry, so most candidates cost one comparison.
 */
class TopK {
  readonly prim: Float64Array;
  readonly doc: Int32Array;
  size = 0;
  constructor(readonly k: number) {
    this.prim = new Float64Array(k);
    this.doc = new Int32Array(k);
  }
  private worse(pa: number, da: number, pb: number, db: number): boolean {
    return pa < pb || (pa === pb && da > db);
  }
  offer(p: number, d: number): void {
    const { prim, doc } = this;
    if (this.size < this.k) {
      let i = this.size++;
      while (i > 0) {
        const up = (i - 1) >> 1;
        if (!this.worse(p, d, prim[up]!, doc[up]!)) break;
        prim[i] = prim[up]!;
        doc[i] = doc[up]!;
        i = up;
      }
      prim[i] = p;
      doc[i] = d;
      return;
    }
    if (this.k === 0 || !this.worse(prim[0]!, doc[0]!, p, d)) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.size) break;
      const r = l + 1;
      let w = l;
      if (r < this.size && this.worse(prim[r]!, doc[r]!, prim[l]!, doc[l]!)) w = r;
      if (!this.worse(prim[w]!, doc[w]!, p, d)) break;
      prim[i] = prim[w]!;
      doc[i] = doc[w]!;
      i = w;
    }
    prim[i] = p;
    doc[i] = d;
  }
  /** Best first. */
  sorted(): { prim: number; doc: number }[] {
    const out = [];
    for (let i = 0; i < this.size; i++) out.push({ prim: this.prim[i]!, doc: this.doc[i]! });
    return out.sort((a, b) => b.prim - a.prim || a.doc - b.doc);
  }
}

/**
 * An immutable full-text index over `SearchDocument`s: build it after a harvest, `serialize()` it
 * to storage, `SearchIndex.deserialize()` it once per instance, then `search()` synchronously.
 */
export class SearchIndex {
  private readonly d: IndexData;
  private readonly n: number;
  private readonly facetByName: Map<string, FacetData>;
  private readonly sortByName: Map<string, SortData>;
  private readonly valueIds = new Map<string, Map<string, number>>();
  // Per-query scratch, reused: search() never awaits, so two calls cannot interleave.
  private readonly score: Float64Array;
  private readonly current: Float64Array;
  private readonly matched: Uint8Array;
  private readonly seen: Uint8Array;
  private readonly touched: Int32Array;

  constructor(data: IndexData) {
    this.d = data;
    this.n = data.meta.docCount;
    this.facetByName = new Map(data.facets.map((f) => [f.name, f]));
    this.sortByName = new Map(data.sorts.map((s) => [s.name, s]));
    this.score = new Float64Array(this.n);
    this.current = new Float64Array(this.n);
    this.matched = new Uint8Array(this.n);
    this.seen = new Uint8Array(this.n);
    this.touched = new Int32Array(this.n);
  }

  static build(documents: Iterable<SearchDocument>, options: BuildOptions): SearchIndex {
    return new SearchIndex(buildIndexData(documents, options));
  }

  static deserialize(blob: Uint8Array): SearchIndex {
    return new SearchIndex(decodeIndex(blob));
  }

  serialize(): Buffer {
    return encodeIndex(this.d);
  }

  get meta(): Readonly<IndexMeta> {
    return this.d.meta;
  }

  /** Number of indexed documents. */
  get size(): number {
    return this.n;
  }

  get facetNames(): string[] {
    return this.d.facets.map((f) => f.name);
  }

  get sortNames(): string[] {
    return this.d.sorts.map((s) => s.name);
  }

  /** The id of document number `doc`. */
  idAt(doc: number): string {
    return this.d.ids.slice(this.d.idOffsets[doc], this.d.idOffsets[doc + 1]);
  }

  has(id: string): boolean {
    const i = this.idLowerBound(id);
    return i < this.n && this.idAt(i) === id;
  }

  search(params: SearchParams = {}): SearchResult {
    const parsed = searchParamsSchema.safeParse(params);
    if (!parsed.success) {
      throw new ApiError("invalid_argument", "Invalid search parameters", toIssues(parsed.error));
    }
    const p = parsed.data;
    const words = this.plan(p.q, p.prefix);
    const filters = this.prepareFilters(p.filters);
    const counted = (p.facets ?? this.facetNames).map((name) => this.facet(name));
    const sort = this.prepareSort(p.sort);
    const signature = this.signature(words, p.filters, p.sort);
    const after = p.cursor === undefined ? undefined : this.readCursor(p.cursor, signature);

    let match: SearchResult["match"] = words.length ? "all" : "none";
    let touchedCount = words.length ? this.evaluate(words, true) : -1;
    let required = words.length;
    if (words.length > 1 && !this.anyMatched(touchedCount, required)) {
      this.reset(touchedCount);
      touchedCount = this.evaluate(words, false);
      required = 1;
      if (touchedCount > 0) match = "some";
    }
    try {
      return this.collect(p, {
        words,
        touchedCount,
        required,
        match,
        filters,
        counted,
        sort,
        after,
        signature,
      });
    } finally {
      if (touchedCount > 0) this.reset(touchedCount);
    }
  }

  // ---- query planning -------------------------------------------------------------------------

  private plan(q: string, prefixLast: boolean): QueryWord[] {
    const gs = groups(normalize(q.slice(0, MAX_QUERY_CHARS)));
    const candidates: { text: string; prefix: boolean; exact?: Expansion[] }[] = [];
    gs.forEach((g, gi) => {
      const prefix = g.star || (prefixLast && gi === gs.length - 1);
      if (g.whole !== undefined) {
        // A compound someone pasted (an id, a date) is looked up whole; if the index has no such
        // identifier, its parts must all match instead.
        const exp = prefix ? this.expand(g.whole) : this.exact(g.whole);
        if (exp.length) {
          candidates.push({ text: g.whole, prefix, exact: exp });
          return;
        }
      }
      g.parts.forEach((part, pi) =>
        candidates.push({ text: part, prefix: prefix && pi === g.parts.length - 1 }),
      );
    });
    let kept = candidates.filter((c) => !STOPWORDS.has(c.text));
    if (!kept.length) kept = candidates.map((c) => ({ text: c.text, prefix: true }));

    const words = new Map<string, QueryWord>();
    let prefixWords = 0;
    let budget = MAX_QUERY_EXPANSIONS;
    for (const candidate of kept) {
      // Past the prefix-word or expansion budget a prefix word is matched as a whole word (L4).
      const c =
        candidate.prefix && (prefixWords >= MAX_PREFIX_WORDS || budget <= 0)
          ? { text: candidate.text, prefix: false }
          : candidate;
      const key = `${c.prefix ? "p" : "e"}:${c.text}`;
      if (words.has(key)) continue;
      if (words.size === MAX_QUERY_TERMS) break;
      let expansions = c.exact ?? (c.prefix ? this.expand(c.text) : this.exact(c.text));
      if (c.prefix) {
        prefixWords += 1;
        if (expansions.length > budget) {
          expansions = [...expansions]
            .sort((a, b) => b.factor - a.factor || this.df(b.term) - this.df(a.term) || a.term - b.term)
            .slice(0, budget);
        }
        budget -= expansions.length;
      }
      const df = expansions.reduce((s, e) => s + this.df(e.term), 0);
      words.set(key, { key, expansions, df });
    }
    return [...words.values()];
  }

  private exact(text: string): Expansion[] {
    const t = this.termLowerBound(text);
    return t < this.d.meta.termCount && this.compareTerm(t, text) === 0 ? [{ term: t, factor: 1 }] : [];
  }

  private expand(prefix: string): Expansion[] {
    const lo = this.termLowerBound(prefix);
    const hi = this.termLowerBound(prefix + "\uffff");
    const out: Expansion[] = [];
    for (let t = lo; t < hi; t++) {
      out.push({ term: t, factor: this.termLength(t) === prefix.length ? 1 : PREFIX_FACTOR });
    }
    if (out.length > MAX_PREFIX_EXPANSIONS) {
      out.sort((a, b) => b.factor - a.factor || this.df(b.term) - this.df(a.term) || a.term - b.term);
      out.length = MAX_PREFIX_EXPANSIONS;
    }
    return out;
  }

  private df(t: number): number {
    return this.d.impStart[t + 1]! - this.d.impStart[t]!;
  }

  private termLength(t: number): number {
    return this.d.termOffsets[t + 1]! - this.d.termOffsets[t]!;
  }

  private compareTerm(t: number, s: string): number {
    const terms = this.d.terms;
    const a = this.d.termOffsets[t]!;
    const len = this.d.termOffsets[t + 1]! - a;
    const m = Math.min(len, s.length);
    for (let k = 0; k < m; k++) {
      const c = terms.charCodeAt(a + k) - s.charCodeAt(k);
      if (c !== 0) return c;
    }
    return len - s.length;
  }

  private termLowerBound(s: string): number {
    let lo = 0;
    let hi = this.d.meta.termCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compareTerm(mid, s) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private idLowerBound(id: string): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.idAt(mid) < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // ---- scoring --------------------------------------------------------------------------------

  /**
   * Term-at-a-time BM25F: each word adds idf × impact (its best expansion) to a document's score.
   * With `all`, words go rarest first and a document stays a candidate only while it has matched
   * every word so far. Returns the number of touched documents (held in `touched`).
   */
  private evaluate(words: QueryWord[], all: boolean): number {
    const { score, current, matched, seen, touched } = this;
    const { postings, postStart, impacts, impStart } = this.d;
    const order = [...words].sort((a, b) => a.df - b.df);
    const n = this.n;
    let count = 0;
    for (let w = 0; w < order.length; w++) {
      const mark = w + 1;
      // A prefix is scored as one word: every completion gets the idf of the prefix's (summed)
      // df, so a rare completion does not outrank a better-placed common one.
      const df = Math.min(n, order[w]!.df);
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      for (const { term, factor } of order[w]!.expansions) {
        const weight = (idf * factor) / 65535;
        let pos = postStart[term]!;
        const end = postStart[term + 1]!;
        let imp = impStart[term]!;
        let doc = 0;
        while (pos < end) {
          let byte = postings[pos++]!;
          let gap = byte & 127;
          for (let shift = 7; byte & 128; shift += 7) {
            byte = postings[pos++]!;
            gap |= (byte & 127) << shift;
          }
          doc += gap;
          const v = weight * impacts[imp++]!;
          if (seen[doc] === mark) {
            if (v > current[doc]!) {
              score[doc]! += v - current[doc]!;
              current[doc] = v;
            }
            continue;
          }
          if (all) {
            if (matched[doc] !== w) continue;
          } else if (matched[doc] === 0 && seen[doc] === 0) {
            touched[count++] = doc;
          }
          if (all && w === 0) touched[count++] = doc;
          seen[doc] = mark;
          current[doc] = v;
          score[doc]! += v;
          matched[doc]!++;
        }
      }
      if (all && count === 0) break;
    }
    return count;
  }

  private anyMatched(count: number, required: number): boolean {
    for (let i = 0; i < count; i++) if (this.matched[this.touched[i]!]! >= required) return true;
    return false;
  }

  private reset(count: number): void {
    const { score, current, matched, seen, touched } = this;
    for (let i = 0; i < count; i++) {
      const doc = touched[i]!;
      score[doc] = 0;
      current[doc] = 0;
      matched[doc] = 0;
      seen[doc] = 0;
    }
  }

  // ---- filters, facets, sort, paging ----------------------------------------------------------

  private readonly browseCache = new Map<string, Uint32Array>();

  private browseCounts(f: FacetData): Uint32Array {
    let c = this.browseCache.get(f.name);
    if (!c) {
      c = new Uint32Array(f.values.length);
      for (let k = 0; k < f.docValues.length; k++) c[f.docValues[k]!]!++;
      this.browseCache.set(f.name, c);
    }
    return c;
  }

  private facet(name: string): FacetData {
    const f = this.facetByName.get(name);
    if (!f) {
      throw new ApiError("invalid_argument", `Unknown facet ${JSON.stringify(name)}`, [
        { path: ["facets"], message: `known facets: ${this.facetNames.join(", ")}` },
      ]);
    }
    return f;
  }

  private prepareFilters(filters: Record<string, string[]>): { facet: FacetData; selected: Uint8Array }[] {
    const out = [];
    for (const [name, values] of Object.entries(filters)) {
      if (!values.length) continue;
      const facet = this.facet(name);
      let ids = this.valueIds.get(name);
      if (!ids) this.valueIds.set(name, (ids = new Map(facet.values.map((v, i) => [v, i]))));
      const selected = new Uint8Array(facet.values.length);
      for (const v of values) {
        const id = ids.get(v);
        if (id !== undefined) selected[id] = 1;
      }
      out.push({ facet, selected });
    }
    return out;
  }

  private prepareSort(sort: string): { values: Float64Array; sign: number } | undefined {
    if (sort === "relevance") return undefined;
    const desc = sort.startsWith("-");
    const s = this.sortByName.get(desc ? sort.slice(1) : sort);
    if (!s) {
      throw new ApiError("invalid_argument", `Unknown sort ${JSON.stringify(sort)}`, [
        {
          path: ["sort"],
          message: `use relevance or one of: ${this.sortNames.join(", ")} (prefix - for descending)`,
        },
      ]);
    }
    return { values: s.values, sign: desc ? 1 : -1 };
  }

  private signature(words: QueryWord[], filters: Record<string, string[]>, sort: string): string {
    const f = Object.entries(filters)
      .filter(([, v]) => v.length)
      .map(([k, v]) => [k, [...new Set(v)].sort()] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const key = JSON.stringify([words.map((w) => w.key).sort(), f, sort]);
    return createHash("sha256").update(key).digest("base64url").slice(0, 12);
  }

  private readCursor(cursor: string, signature: string): { prim: number; minDoc: number } {
    let state: CursorState;
    try {
      state = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as CursorState;
    } catch {
      throw new ApiError("invalid_argument", "Malformed cursor");
    }
    if (
      typeof state !== "object" ||
      state === null ||
      typeof state.id !== "string" ||
      (state.p !== null && typeof state.p !== "number")
    ) {
      throw new ApiError("invalid_argument", "Malformed cursor");
    }
    if (state.h !== signature) {
      throw new ApiError("invalid_argument", "This cursor belongs to a different query, filters or sort");
    }
    const at = this.idLowerBound(state.id);
    const exact = at < this.n && this.idAt(at) === state.id;
    return { prim: state.p ?? -Infinity, minDoc: exact ? at + 1 : at };
  }

  private writeCursor(signature: string, prim: number, doc: number): string {
    const state: CursorState = { h: signature, p: Number.isFinite(prim) ? prim : null, id: this.idAt(doc) };
    return Buffer.from(JSON.stringify(state), "utf8").toString("base64url");
  }

  private collect(
    p: ReturnType<typeof searchParamsSchema.parse>,
    q: {
      words: QueryWord[];
      touchedCount: number;
      required: number;
      match: SearchResult["match"];
      filters: { facet: FacetData; selected: Uint8Array }[];
      counted: FacetData[];
      sort: { values: Float64Array; sign: number } | undefined;
      after: { prim: number; minDoc: number } | undefined;
      signature: string;
    },
  ): SearchResult {
    const { score, matched, touched } = this;
    const { filters, counted, sort, after } = q;
    const offset = after ? 0 : (p.offset ?? 0);
    const top = new TopK(offset + p.limit);
    // The unfiltered browse page is the most frequent query and its counts never change.
    const browse = q.words.length === 0 && filters.length === 0;
    const counts = counted.map((f) => (browse ? this.browseCounts(f) : new Uint32Array(f.values.length)));
    const countedLive = browse ? 0 : counted.length;
    const filterSlot = filters.map((f) => counted.indexOf(f.facet));
    const or = q.required === 1 && q.words.length > 1;
    const nf = filters.length;
    let total = 0;
    let remaining = 0;

    const consider = (doc: number) => {
      let failed = -1;
      for (let i = 0; i < nf; i++) {
        const { facet, selected } = filters[i]!;
        let ok = false;
        for (let k = facet.docOffsets[doc]!; k < facet.docOffsets[doc + 1]!; k++) {
          if (selected[facet.docValues[k]!]) {
            ok = true;
            break;
          }
        }
        if (ok) continue;
        // A document failing only facet F's filter still counts toward F's values.
        if (failed !== -1) return;
        failed = i;
      }
      if (failed !== -1) {
        const slot = filterSlot[failed]!;
        if (slot !== -1) countFacet(slot, doc);
        return;
      }
      total++;
      for (let s = 0; s < countedLive; s++) countFacet(s, doc);
      let prim: number;
      if (sort) {
        const v = sort.values[doc]!;
        prim = Number.isNaN(v) ? -Infinity : sort.sign * v;
      } else if (q.words.length === 0) prim = 0;
      else prim = or ? matched[doc]! * SCORE_CEILING + score[doc]! : score[doc]!;
      if (after && !(prim < after.prim || (prim === after.prim && doc >= after.minDoc))) return;
      remaining++;
      top.offer(prim, doc);
    };
    const countFacet = (slot: number, doc: number) => {
      const f = counted[slot]!;
      const c = counts[slot]!;
      for (let k = f.docOffsets[doc]!; k < f.docOffsets[doc + 1]!; k++) c[f.docValues[k]!]!++;
    };

    if (q.touchedCount < 0) {
      for (let doc = 0; doc < this.n; doc++) consider(doc);
    } else {
      for (let i = 0; i < q.touchedCount; i++) {
        const doc = touched[i]!;
        if (matched[doc]! >= q.required) consider(doc);
      }
    }

    const ranked = top.sorted().slice(offset);
    const hits: SearchHit[] = ranked.map(({ doc }) => ({ id: this.idAt(doc), score: score[doc]! }));
    const facets: Record<string, FacetCount[]> = {};
    counted.forEach((f, s) => {
      const c = counts[s]!;
      const list: number[] = [];
      for (let v = 0; v < c.length; v++) if (c[v]) list.push(v);
      list.sort((a, b) => c[b]! - c[a]! || a - b);
      if (p.facetLimit !== undefined && list.length > p.facetLimit) list.length = p.facetLimit;
      facets[f.name] = list.map((v) => ({ value: f.values[v]!, count: c[v]! }));
    });
    const result: SearchResult = {
      total,
      hits,
      facets,
      match: total ? q.match : q.words.length ? "all" : "none",
    };
    const more = after ? remaining > p.limit : total > offset + p.limit;
    const last = ranked[ranked.length - 1];
    if (more && last) result.nextCursor = this.writeCursor(q.signature, last.prim, last.doc);
    return result;
  }
}
