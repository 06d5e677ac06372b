/**
 * One search engine on the search bench's corpus and queries, in a process of its own (so its
 * memory figures are its own): build from the streamed corpus, serialize, load the serialized
 * form, then time every query. bench/search.ts runs one of these per engine and prints the table.
 *
 * Engines: ours (search/), MiniSearch, Orama, FlexSearch, SQLite FTS5. Each gets the same text
 * (our tokenizer, so the engines are compared and not their tokenizers, except FTS5's own
 * unicode61 with diacritics removed), the same field weights where it has them, the same
 * filters (OR within a facet, AND across facets), and must return the top 20 and the total.
 * Facet-heavy queries also ask for every value of every facet, each counted without its own
 * filter; what an engine cannot count natively is counted by hand here, and said so.
 *
 *   node --expose-gc --import tsx bench/search-peers.ts --engine minisearch [--docs 300000]
 */
import Database from "better-sqlite3";
import FlexSearch from "flexsearch";
import MiniSearch from "minisearch";
import { create, insert, load, save, search as oramaSearch, type AnyOrama } from "@orama/orama";
import { pathToFileURL } from "node:url";
import { IndexBuilder, SearchIndex, type SearchDocument } from "../functions/src/search/index.js";
import { indexTerms } from "../functions/src/search/tokenize.js";
import {
  BENCH_FACETS,
  BENCH_QUERIES,
  BENCH_WEIGHTS,
  buildFts,
  ftsRunner,
  syntheticDocuments,
  type BenchQuery,
} from "./search.js";

export const ENGINES = ["ours", "minisearch", "orama", "flexsearch", "fts5"] as const;
export type EngineName = (typeof ENGINES)[number];

type Counts = Record<string, Record<string, number>>;
interface Answer {
  total: number;
  top: string[];
  facets?: Counts;
}

interface Engine {
  add(doc: SearchDocument): void | Promise<void>;
  /** Ends the build (anything done once after the last document). */
  finish(): void | Promise<void>;
  serialize(): Promise<Uint8Array | string>;
  /** Lets the built index go, so the loaded one's memory can be measured alone. */
  release(): void;
  /** Replaces the built index by the one read back from `blob`. */
  load(blob: Uint8Array | string): Promise<void>;
  query(q: BenchQuery): Answer | Promise<Answer>;
  /** How the engine gets exact multi-select facet counts, if it does. */
  facets: string;
  /** What the engine cannot do of the bench's queries. */
  notes: string;
}

const TEXT_FIELDS = Object.keys(BENCH_WEIGHTS);
const textOf = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(" \n ") : (v ?? ""));
/** A query's terms as our engine would index them; the last one is the prefix. */
const queryTerms = (q: string) => indexTerms(q);

/**
 * Exact multi-select counts by hand: each facet counted over the documents that pass every
 * filter except that facet's own. `rows` are all the query's matches, unfiltered.
 */
function countByHand(rows: Iterable<Record<string, string[]>>, filters: Record<string, string[]>): Counts {
  const counts: Counts = Object.fromEntries(BENCH_FACETS.map((f) => [f, {}]));
  const sets = Object.entries(filters).map(([name, values]) => [name, new Set(values)] as const);
  for (const row of rows) {
    let failed: string | null = null;
    let failures = 0;
    for (const [name, set] of sets) {
      if (!(row[name] ?? []).some((v) => set.has(v))) {
        failures++;
        failed = name;
      }
    }
    if (failures > 1) continue;
    for (const f of BENCH_FACETS) {
      if (failures === 1 && f !== failed) continue;
      const c = counts[f]!;
      for (const v of new Set(row[f] ?? [])) c[v] = (c[v] ?? 0) + 1;
    }
  }
  return counts;
}

const passes = (row: Record<string, string[]>, filters: Record<string, string[]>) =>
  Object.entries(filters).every(([name, values]) => (row[name] ?? []).some((v) => values.includes(v)));

function ours(): Engine {
  const builder = new IndexBuilder({ fields: BENCH_WEIGHTS, facets: BENCH_FACETS });
  let index: SearchIndex | undefined;
  return {
    add: (doc) => builder.add(doc),
    finish: () => void (index = new SearchIndex(builder.finish())),
    serialize: () => Promise.resolve(index!.serialize()),
    release: () => void (index = undefined),
    load: (blob) => Promise.resolve(void (index = SearchIndex.deserialize(blob as Uint8Array))),
    query(q) {
      const r = index!.search({
        q: q.q,
        filters: q.filters ?? {},
        limit: 20,
        ...(q.facets ? {} : { facets: [] }),
      });
      return {
        total: r.total,
        top: r.hits.map((h) => h.id),
        ...(q.facets
          ? {
              facets: Object.fromEntries(
                Object.entries(r.facets).map(([f, vs]) => [
                  f,
                  Object.fromEntries(vs.map((v) => [v.value, v.count])),
                ]),
              ),
            }
          : {}),
      };
    },
    facets: "yes (built in, every value)",
    notes: "",
  };
}

interface MiniDoc {
  id: string;
  text: Record<string, string>;
  facets: Record<string, string[]>;
}

function minisearch(): Engine {
  const options = {
    idField: "id",
    fields: TEXT_FIELDS,
    storeFields: ["facets"],
    extractField: (doc: MiniDoc, field: string) =>
      field === "id" ? doc.id : field === "facets" ? doc.facets : doc.text[field],
    tokenize: (text: string) => indexTerms(text),
    processTerm: (term: string) => term,
    searchOptions: { tokenize: queryTerms, processTerm: (term: string) => term },
  };
  let ms = new MiniSearch<MiniDoc>(options);
  return {
    add: (doc) =>
      ms.add({
        id: doc.id,
        text: Object.fromEntries(TEXT_FIELDS.map((f) => [f, textOf(doc.text[f])])),
        facets: doc.facets,
      }),
    finish: () => {},
    serialize: () => Promise.resolve(JSON.stringify(ms)),
    release: () => void (ms = new MiniSearch<MiniDoc>(options)),
    load: (blob) => Promise.resolve(void (ms = MiniSearch.loadJSON<MiniDoc>(blob as string, options))),
    query(q) {
      const filters = q.filters ?? {};
      const hits = ms.search(q.q || MiniSearch.wildcard, {
        boost: BENCH_WEIGHTS,
        combineWith: "AND",
        prefix: (_term, i, terms) => i === terms.length - 1,
        // Without facets to count the filter can run inside the search; with them every match is
        // needed, since a filtered facet is counted without its own filter.
        ...(q.facets || !Object.keys(filters).length
          ? {}
          : { filter: (r) => passes(r.facets as Record<string, string[]>, filters) }),
      });
      if (!q.facets) return { total: hits.length, top: hits.slice(0, 20).map((h) => String(h.id)) };
      const kept = hits.filter((h) => passes(h.facets as Record<string, string[]>, filters));
      return {
        total: kept.length,
        top: kept.slice(0, 20).map((h) => String(h.id)),
        facets: countByHand(
          hits.map((h) => h.facets as Record<string, string[]>),
          filters,
        ),
      };
    },
    facets: "no: counted by hand over every match (one pass, filters re-applied per facet)",
    notes: "",
  };
}

function orama(): Engine {
  const schema = {
    id: "string",
    ...Object.fromEntries(TEXT_FIELDS.map((f) => [f, "string"])),
    ...Object.fromEntries(BENCH_FACETS.map((f) => [`f_${f}`, "enum[]"])),
  } as const;
  const make = () =>
    create({
      schema,
      components: {
        tokenizer: {
          language: "english",
          normalizationCache: new Map(),
          tokenize: (raw: string) => indexTerms(raw),
        },
      },
    } as never) as AnyOrama;
  let db = make();
  const where = (filters: Record<string, string[]>) =>
    Object.fromEntries(Object.entries(filters).map(([f, values]) => [`f_${f}`, { containsAny: values }]));
  const facetsOf = (names: readonly string[]) =>
    Object.fromEntries(names.map((f) => [`f_${f}`, { limit: 1_000_000 }]));
  const run = (q: BenchQuery, filters: Record<string, string[]>, facets: readonly string[], limit: number) =>
    oramaSearch(db, {
      term: q.q,
      properties: TEXT_FIELDS,
      boost: BENCH_WEIGHTS,
      threshold: 0,
      limit,
      ...(Object.keys(filters).length ? { where: where(filters) } : {}),
      ...(facets.length ? { facets: facetsOf(facets) } : {}),
    } as never) as unknown as Promise<{
      count: number;
      hits: { id: string }[];
      facets?: Record<string, { values: Record<string, number> }>;
    }>;
  return {
    async add(doc) {
      await insert(db, {
        id: doc.id,
        ...Object.fromEntries(TEXT_FIELDS.map((f) => [f, textOf(doc.text[f])])),
        ...Object.fromEntries(BENCH_FACETS.map((f) => [`f_${f}`, doc.facets[f] ?? []])),
      } as never);
    },
    finish: () => {},
    serialize: () => Promise.resolve(JSON.stringify(save(db))),
    release: () => void (db = make()),
    load(blob) {
      db = make();
      load(db, JSON.parse(blob as string) as never);
      return Promise.resolve();
    },
    async query(q) {
      const filters = q.filters ?? {};
      if (!q.facets) {
        const r = await run(q, filters, [], 20);
        return { total: r.count, top: r.hits.map((h) => h.id) };
      }
      // Orama counts facets over the filtered matches; a filtered facet's multi-select counts
      // need one more search without that facet's filter.
      const filtered = Object.keys(filters);
      const r = await run(
        q,
        filters,
        BENCH_FACETS.filter((f) => !filtered.includes(f)),
        20,
      );
      const facets: Counts = {};
      for (const [name, v] of Object.entries(r.facets ?? {})) facets[name.slice(2)] = v.values;
      for (const f of filtered) {
        const rest = Object.fromEntries(Object.entries(filters).filter(([name]) => name !== f));
        const own = await run(q, rest, [f], 0);
        facets[f] = own.facets?.[`f_${f}`]?.values ?? {};
      }
      return { total: r.count, top: r.hits.map((h) => h.id), facets };
    },
    facets: "counts with every filter applied; exact multi-select with one more search per filtered facet",
    notes: "every query word is a prefix (no exact-only mode per word)",
  };
}

function flexsearch(): Engine {
  type Doc = { id: string; text: string } & Record<string, string[] | string>;
  type Index = {
    add(doc: Doc): void;
    search(o: object): { field: string; result: string[] }[];
    export(cb: (key: string, data: string) => void): Promise<void> | void;
    import(key: string, data: string): void;
  };
  const { Document } = FlexSearch as unknown as { Document: new (o: object) => Index };
  // One text field: FlexSearch searches each field on its own, so a query's words could not be
  // AND-ed across fields otherwise; it has no per-field weights and no BM25 either.
  const make = () =>
    new Document({
      document: {
        id: "id",
        index: [{ field: "text", tokenize: "forward", encode: (s: string) => indexTerms(s) }],
        tag: BENCH_FACETS.map((f) => ({ field: f })),
      },
    });
  let index = make();
  let docs = 0;
  return {
    add(doc) {
      docs++;
      index.add({
        id: doc.id,
        text: TEXT_FIELDS.map((f) => textOf(doc.text[f])).join(" \n "),
        ...Object.fromEntries(BENCH_FACETS.map((f) => [f, doc.facets[f] ?? []])),
      });
    },
    finish: () => {},
    async serialize() {
      const parts: Record<string, string> = {};
      await index.export((key, data) => void (parts[key] = data));
      return JSON.stringify(parts);
    },
    release: () => void (index = make()),
    load(blob) {
      index = make();
      for (const [key, data] of Object.entries(JSON.parse(blob as string) as Record<string, string>)) {
        index.import(key, data);
      }
      return Promise.resolve();
    },
    query(q) {
      if (!q.q) return { total: NaN, top: [] };
      const filters = q.filters ?? {};
      // The total is only known by asking for every match.
      const r = index.search({
        query: q.q,
        limit: docs,
        ...(Object.keys(filters).length ? { tag: filters } : {}),
      });
      const ids = r[0]?.result ?? [];
      return { total: ids.length, top: ids.slice(0, 20) };
    },
    facets: "no (and no per-document values to count by hand without a document store)",
    notes: "no empty query; no field weights or BM25 (one text field); total needs every match",
  };
}

function fts5(): Engine {
  const docs: SearchDocument[] = [];
  let db: Database.Database | undefined;
  let run: ((q: BenchQuery) => number) | undefined;
  return {
    add: (doc) => void docs.push(doc),
    finish() {
      db = buildFts(docs);
      docs.length = 0;
      run = ftsRunner(db);
    },
    serialize: () => Promise.resolve(db!.serialize()),
    release: () => db!.close(),
    load(blob) {
      db = new Database(Buffer.from(blob as Uint8Array));
      run = ftsRunner(db);
      return Promise.resolve();
    },
    query: (q) => ({ total: run!(q), top: [] }),
    facets: "one GROUP BY per facet over the materialized matches (each without its own filter)",
    notes: "its own tokenizer (unicode61, diacritics removed); bm25 via the rank option, weights as ours",
  };
}

const FACTORIES: Record<EngineName, () => Engine> = { ours, minisearch, orama, flexsearch, fts5 };

export interface EngineFigures {
  engine: EngineName;
  docs: number;
  buildMs: number;
  serializedBytes: number;
  loadMs: number;
  /** JS heap + array buffers held by the loaded index (with --expose-gc). */
  loadedBytes: number;
  /** Peak RSS of the engine's process: build, serialize and load. */
  peakRssBytes: number;
  facets: string;
  notes: string;
  queries: { name: string; kind: string; total: number; samples: number[] }[];
  error?: string;
}

const gc = (globalThis as { gc?: () => void }).gc;
const heldBytes = () => {
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

export async function measureEngine(name: EngineName, docs: number, reps: number): Promise<EngineFigures> {
  const engine = FACTORIES[name]();
  let t = performance.now();
  for (const doc of syntheticDocuments(docs)) await engine.add(doc);
  await engine.finish();
  const buildMs = performance.now() - t;
  const blob = await engine.serialize();
  const serializedBytes = typeof blob === "string" ? Buffer.byteLength(blob) : blob.byteLength;
  engine.release();
  const before = heldBytes();
  t = performance.now();
  await engine.load(blob);
  const loadMs = performance.now() - t;
  const loadedBytes = heldBytes() - before;
  const queries: EngineFigures["queries"] = [];
  for (const q of BENCH_QUERIES) {
    const first = await engine.query(q);
    const samples: number[] = [];
    for (let i = 0; i < reps; i++) {
      const s = performance.now();
      await engine.query(q);
      samples.push(performance.now() - s);
    }
    queries.push({ name: q.name, kind: q.kind, total: first.total, samples });
  }
  return {
    engine: name,
    docs,
    buildMs,
    serializedBytes,
    loadMs,
    loadedBytes,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    facets: engine.facets,
    notes: engine.notes,
    queries,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (key: string) => {
    const i = process.argv.indexOf(`--${key}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const name = arg("engine") as EngineName;
  if (!ENGINES.includes(name)) throw new Error(`--engine ${ENGINES.join("|")}`);
  const figures = await measureEngine(name, Number(arg("docs") ?? 300_000), Number(arg("reps") ?? 10));
  console.log(`RESULT ${JSON.stringify(figures)}`);
  process.exit(0);
}
