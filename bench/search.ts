/**
 * Search benchmark: a deterministic synthetic catalog (300,000 records by default) indexed by our
 * engine and by SQLite FTS5 (in-memory, bm25 with the same field weights, user words quoted and
 * bound as parameters), then the same fixed query set on both. Each query asks for the top 20 and
 * the total; the facet-heavy ones also count every facet value.
 *
 *   npx tsx bench/search.ts [--docs 300000] [--reps 20]
 *   (add `node --expose-gc --import tsx` for exact heap figures)
 */
import Database from "better-sqlite3";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import {
  buildIndex,
  deserialize,
  type SearchDocument,
  type SearchParams,
} from "../functions/src/search/index.js";

export interface SearchBenchOptions {
  docs?: number;
  reps?: number;
  ftsReps?: number;
  seed?: number;
  /** Skip FTS5 (e.g. for a quick run). */
  fts?: boolean;
}

export interface QueryFigures {
  name: string;
  kind: string;
  total: number;
  oursP50Ms: number;
  oursP95Ms: number;
  ftsP50Ms?: number;
  ftsP95Ms?: number;
  /** ours p50 / FTS5 p50: below 1 means we are faster. */
  ratioP50?: number;
}

export interface SearchBenchResult {
  docs: number;
  buildMs: number;
  serializedBytes: number;
  serializeMs: number;
  deserializeMs: number;
  /** Heap held by the loaded (deserialized) index, including its query scratch. */
  indexHeapBytes: number;
  /** Heap held by the loaded index plus its typed arrays outside the JS heap. */
  indexMemoryBytes: number;
  terms: number;
  postings: number;
  ftsBuildMs?: number;
  queries: QueryFigures[];
  oursP50Ms: number;
  oursP95Ms: number;
  ftsP50Ms?: number;
  ftsP95Ms?: number;
  /** Geometric mean over queries of ours/FTS5 at p50. */
  ratioP50GeoMean?: number;
  peakRssBytes: number;
}

// ---- deterministic synthetic corpus ------------------------------------------------------------

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REGIONS = (
  "hippocampus|CA1|CA2|CA3|dentate gyrus|hilus|subiculum|presubiculum|parasubiculum|entorhinal cortex|" +
  "medial entorhinal cortex|lateral entorhinal cortex|neocortex|prefrontal|somatosensory|visual cortex|" +
  "motor cortex|thalamus|striatum|cerebellum|amygdala|olfactory bulb|stratum oriens|stratum pyramidale|" +
  "stratum radiatum|stratum lacunosum-moleculare|granular layer|molecular layer|layer 1|layer 2|layer 3|" +
  "layer 4|layer 5|layer 6|retina|spinal cord|brainstem|hypothalamus|basal ganglia|septum"
).split("|");
const CELL_TYPES = (
  "pyramidal|principal cell|interneuron|basket|chandelier|axo-axonic|O-LM|bistratified|ivy|neurogliaform|" +
  "granule|mossy cell|stellate|Purkinje|medium spiny|parvalbumin|somatostatin|VIP|CCK|NPY|calretinin|" +
  "Martinotti|double bouquet|trilaminar|back-projection|HIPP|MOPP|semilunar granule|fast-spiking|" +
  "regular-spiking|bursting|glia|astrocyte|microglia|oligodendrocyte|Golgi|Lugaro|unipolar brush|" +
  "thalamocortical|cholinergic"
).split("|");
const SPECIES =
  "rat|mouse|human|monkey|zebrafish|drosophila melanogaster|C. elegans|cat|rabbit|guinea pig".split("|");
const SPECIES_W = [30, 30, 10, 6, 5, 8, 3, 3, 2, 3];
const KINDS: [string, string, number][] = [
  ["morphology", "neuromorpho", 60],
  ["electrophysiology", "nexus", 18],
  ["model", "modeldb", 10],
  ["dataset", "dandi", 7],
  ["connection", "hippocampome", 3],
  ["neuron type", "hippocampome", 2],
];
const DOMAIN = (
  "dendrite axon soma spine synapse synaptic plasticity potentiation depression theta gamma ripple " +
  "oscillation oscillations rhythm burst spike spiking firing rate channel sodium potassium calcium " +
  "current conductance model network simulation recording recordings patch clamp whole-cell in vitro " +
  "in vivo slice culture reconstruction neuron neurons cell cells excitatory inhibitory GABAergic " +
  "glutamatergic morphology branching arbor tree length diameter volume surface imaging two-photon " +
  "calcium optogenetics memory place grid head-direction navigation learning epilepsy seizure " +
  "development aging control knockout transgenic receptor NMDA AMPA GABA dopamine serotonin " +
  "acetylcholine feedback feedforward recurrent connectivity projection input output cortex " +
  "hippocampal cortical thalamic layer laminar stimulation response"
).split(" ");
const SURNAMES =
  "Turner Claiborne Buzsaki Soltesz Ascoli Markram Migliore Poirazi Traub Pinsky Rinzel Lytton Somogyi Freund Klausberger".split(
    " ",
  );

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}
function pickWeighted<T>(r: () => number, list: readonly T[], weights: readonly number[]): T {
  const sum = weights.reduce((a, b) => a + b, 0);
  let x = r() * sum;
  for (let i = 0; i < list.length; i++) {
    x -= weights[i]!;
    if (x < 0) return list[i]!;
  }
  return list[list.length - 1]!;
}
/** Zipf-ish: small indices much more likely. */
function zipf(r: () => number, n: number): number {
  return Math.min(n - 1, Math.floor(Math.pow(n, r()) - 1));
}
function some<T>(r: () => number, list: readonly T[], max: number): T[] {
  const k = 1 + Math.floor(r() * max);
  return [...new Set(Array.from({ length: k }, () => list[zipf(r, list.length)]!))];
}

export function syntheticCorpus(n: number, seed = 1): SearchDocument[] {
  return [...syntheticDocuments(n, seed)];
}

/** The corpus one document at a time, so a streaming consumer never holds all of it. */
export function* syntheticDocuments(n: number, seed = 1): Generator<SearchDocument> {
  const r = rng(seed);
  const syll = "ka ri to ne mu sa lo vi de pa ho ze gu fi ta be no ly".split(" ");
  const generic = Array.from({ length: 6000 }, () => {
    const k = 2 + Math.floor(r() * 3);
    return Array.from({ length: k }, () => pick(r, syll)).join("");
  });
  const vocab = [...DOMAIN, ...generic];
  for (let i = 0; i < n; i++) {
    const [kind, source] = pickWeighted(
      r,
      KINDS.map((k) => [k[0], k[1]] as const),
      KINDS.map((k) => k[2]),
    );
    const species = [pickWeighted(r, SPECIES, SPECIES_W)];
    const regions = some(r, REGIONS, 3);
    const cellTypes = some(r, CELL_TYPES, 3);
    const words = Array.from({ length: 12 + Math.floor(r() * 30) }, () => vocab[zipf(r, vocab.length)]!);
    const year = 2000 + Math.floor(r() * 25);
    const date = `${year}-${String(1 + Math.floor(r() * 12)).padStart(2, "0")}-${String(1 + Math.floor(r() * 28)).padStart(2, "0")}`;
    const author = pick(r, SURNAMES);
    let name: string;
    if (kind === "morphology") name = `${pick(r, ["n", "cell", "hc", "mpg", "NMO"])}_${i}_${pick(r, syll)}`;
    else if (kind === "model" || kind === "dataset")
      name = `${regions[0]} ${cellTypes[0]} ${words.slice(0, 3).join(" ")} (${author} et al ${year})`;
    else name = `${regions[0]} ${cellTypes[0]} ${i}`;
    yield {
      id: `${source}:${i}`,
      text: {
        name,
        description: words.join(" "),
        species,
        regions,
        cellTypes,
        keywords: [author, date, `NMO_${String(i).padStart(5, "0")}`],
      },
      facets: { kind: [kind], source: [source], species, region: regions, cellType: cellTypes },
      sort: { modified: Date.parse(date) },
    };
  }
}

// ---- query set ---------------------------------------------------------------------------------

interface BenchQuery {
  name: string;
  kind: "single" | "multi" | "prefix" | "identifier" | "filtered" | "facet-heavy";
  q: string;
  filters?: Record<string, string[]>;
  facets: boolean;
}

const QUERIES: BenchQuery[] = [
  { name: "pyramidal", kind: "single", q: "pyramidal", facets: false },
  { name: "parvalbumin", kind: "single", q: "parvalbumin", facets: false },
  { name: "hippocampus", kind: "single", q: "hippocampus", facets: false },
  { name: "CA1 pyramidal cell", kind: "multi", q: "CA1 pyramidal cell", facets: false },
  { name: "basket interneuron dentate", kind: "multi", q: "basket interneuron dentate gyrus", facets: false },
  { name: "theta oscillations model", kind: "multi", q: "theta oscillations network model", facets: false },
  { name: "pyram", kind: "prefix", q: "pyram", facets: false },
  { name: "CA1 interneu", kind: "prefix", q: "CA1 interneu", facets: false },
  { name: "hippocamp", kind: "prefix", q: "hippocamp", facets: false },
  { name: "NMO_01234", kind: "identifier", q: "NMO_01234", facets: false },
  { name: "pyramidal +rat", kind: "filtered", q: "pyramidal", filters: { species: ["rat"] }, facets: false },
  {
    name: "interneuron +CA1|CA3 +mouse",
    kind: "filtered",
    q: "interneuron",
    filters: { region: ["CA1", "CA3"], species: ["mouse"] },
    facets: false,
  },
  { name: "(all) facets", kind: "facet-heavy", q: "", facets: true },
  { name: "cell facets", kind: "facet-heavy", q: "cell", facets: true },
  {
    name: "neuron +rat facets",
    kind: "facet-heavy",
    q: "neuron",
    filters: { species: ["rat"] },
    facets: true,
  },
];

// ---- FTS5 side ---------------------------------------------------------------------------------

const FIELDS = ["name", "cellTypes", "regions", "species", "description", "keywords"] as const;
const WEIGHTS = { name: 3, cellTypes: 2, regions: 2, species: 2, description: 1, keywords: 1 };
const FACETS = ["kind", "source", "species", "region", "cellType"];

function buildFts(docs: SearchDocument[]): Database.Database {
  const db = new Database(":memory:");
  db.exec(
    `CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, ${FIELDS.join(", ")}, tokenize = 'unicode61 remove_diacritics 2')`,
  );
  db.exec("CREATE TABLE facet (rid INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL)");
  const insert = db.prepare(
    `INSERT INTO docs (rowid, id, ${FIELDS.join(", ")}) VALUES (?, ?, ${FIELDS.map(() => "?").join(", ")})`,
  );
  const insertFacet = db.prepare("INSERT INTO facet (rid, name, value) VALUES (?, ?, ?)");
  db.transaction(() => {
    docs.forEach((d, i) => {
      const text = FIELDS.map((f) => {
        const v = d.text[f];
        return Array.isArray(v) ? v.join(" \n ") : (v ?? "");
      });
      insert.run(i + 1, d.id, ...text);
      for (const [name, values] of Object.entries(d.facets))
        for (const v of values) insertFacet.run(i + 1, name, v);
    });
  })();
  db.exec("CREATE INDEX facet_value ON facet (name, value, rid)");
  return db;
}

/** The safe way to hand user words to FTS5: each word a quoted string, the last a prefix. */
function ftsMatch(q: string): string {
  const words = q.split(/\s+/).filter(Boolean);
  return words.map((w, i) => `"${w.replace(/"/g, '""')}"${i === words.length - 1 ? "*" : ""}`).join(" ");
}

function ftsRunner(db: Database.Database) {
  const weights = FIELDS.map((f) => WEIGHTS[f]).join(", ");
  return (query: BenchQuery): number => {
    // FTS5 re-runs MATCH per row when it is AND-ed with `rowid IN (…)`, so the matches are
    // materialized once and filtered afterwards (the naive form took 20 s at 30,000 rows).
    const args: string[] = [];
    const parts: string[] = [];
    if (query.q) {
      parts.push(`SELECT rowid AS r, id, bm25(docs, 0, ${weights}) AS s FROM docs WHERE docs MATCH ?`);
      args.push(ftsMatch(query.q));
    } else parts.push("SELECT rowid AS r, id, 0 AS s FROM docs");
    const filters = Object.entries(query.filters ?? {});
    const cond = filters
      .map(
        ([, values]) =>
          `r IN (SELECT rid FROM facet WHERE name = ? AND value IN (${values.map(() => "?").join(", ")}))`,
      )
      .join(" AND ");
    for (const [name, values] of filters) args.push(name, ...values);
    if (query.q && !filters.length && !query.facets) {
      // Without filters the plain form is FTS5's fastest; use it so the ratio is fair.
      db.prepare(
        `SELECT id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 0, ${weights}), id LIMIT 20`,
      ).all(...args);
      return (db.prepare("SELECT count(*) AS n FROM docs WHERE docs MATCH ?").get(...args) as { n: number })
        .n;
    }
    const m = `WITH m AS MATERIALIZED (${parts[0]}), f AS (SELECT r, id, s FROM m ${cond ? `WHERE ${cond}` : ""})`;
    db.prepare(`${m} SELECT id FROM f ORDER BY s, id LIMIT 20`).all(...args);
    const total = (db.prepare(`${m} SELECT count(*) AS n FROM f`).get(...args) as { n: number }).n;
    if (query.facets) {
      for (const name of FACETS) {
        db.prepare(
          `${m} SELECT value, count(*) FROM facet WHERE name = ? AND rid IN (SELECT r FROM f) GROUP BY value`,
        ).all(...args, name);
      }
    }
    return total;
  };
}

// ---- measurement -------------------------------------------------------------------------------

const gc = (globalThis as { gc?: () => void }).gc;
const heap = () => {
  gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, total: m.heapUsed + m.arrayBuffers };
};
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
function time(fn: () => unknown, reps: number, warmup = 5): { p50: number; p95: number } {
  for (let i = 0; i < warmup; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const s = performance.now();
    fn();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return { p50: percentile(t, 50), p95: percentile(t, 95) };
}

export async function runSearchBench(opts: SearchBenchOptions = {}): Promise<SearchBenchResult> {
  const n = opts.docs ?? 300_000;
  const reps = opts.reps ?? 20;
  const ftsReps = opts.ftsReps ?? 3;
  let docs: SearchDocument[] | undefined = syntheticCorpus(n, opts.seed ?? 1);

  let t = performance.now();
  let built: ReturnType<typeof buildIndex> | undefined = buildIndex(docs, {
    fields: WEIGHTS,
    facets: FACETS,
  });
  const buildMs = performance.now() - t;
  t = performance.now();
  const blob = built.serialize();
  const serializeMs = performance.now() - t;
  const { terms, postings } = { terms: built.meta.termCount, postings: built.meta.postingCount };
  built = undefined;

  const ftsDocs = opts.fts === false ? undefined : docs;
  docs = undefined;
  const before = heap();
  t = performance.now();
  const index = deserialize(blob);
  const deserializeMs = performance.now() - t;
  const after = heap();

  const ours = (query: BenchQuery) => {
    const params: SearchParams = { q: query.q, filters: query.filters ?? {}, limit: 20 };
    if (!query.facets) params.facets = [];
    return index.search(params).total;
  };

  let db: Database.Database | undefined;
  let ftsBuildMs: number | undefined;
  if (ftsDocs) {
    t = performance.now();
    db = buildFts(ftsDocs);
    ftsBuildMs = performance.now() - t;
  }
  const fts = db ? ftsRunner(db) : undefined;

  const queries: QueryFigures[] = [];
  for (const query of QUERIES) {
    const o = time(() => ours(query), reps);
    const fig: QueryFigures = {
      name: query.name,
      kind: query.kind,
      total: ours(query),
      oursP50Ms: o.p50,
      oursP95Ms: o.p95,
    };
    if (fts) {
      const f = time(() => fts(query), ftsReps, 1);
      fig.ftsP50Ms = f.p50;
      fig.ftsP95Ms = f.p95;
      fig.ratioP50 = o.p50 / f.p50;
    }
    queries.push(fig);
  }
  db?.close();

  const all = (k: "oursP50Ms" | "oursP95Ms" | "ftsP50Ms" | "ftsP95Ms") =>
    percentile(
      queries.map((q) => q[k] ?? 0).sort((a, b) => a - b),
      k.endsWith("P50Ms") ? 50 : 95,
    );
  const result: SearchBenchResult = {
    docs: n,
    buildMs,
    serializedBytes: blob.byteLength,
    serializeMs,
    deserializeMs,
    indexHeapBytes: after.heap - before.heap,
    indexMemoryBytes: after.total - before.total,
    terms,
    postings,
    queries,
    oursP50Ms: all("oursP50Ms"),
    oursP95Ms: all("oursP95Ms"),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  if (fts) {
    result.ftsBuildMs = ftsBuildMs;
    result.ftsP50Ms = all("ftsP50Ms");
    result.ftsP95Ms = all("ftsP95Ms");
    result.ratioP50GeoMean = Math.exp(
      queries.reduce((s, q) => s + Math.log(q.ratioP50!), 0) / queries.length,
    );
  }
  return Promise.resolve(result);
}

function printTable(r: SearchBenchResult): void {
  const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
  const ms = (x: number | undefined) => (x === undefined ? "-" : x.toFixed(2));
  console.log(
    `search bench: ${r.docs.toLocaleString()} docs, ${r.terms.toLocaleString()} terms, ${r.postings.toLocaleString()} postings`,
  );
  console.log(
    `build ${(r.buildMs / 1000).toFixed(1)} s, serialize ${r.serializeMs.toFixed(0)} ms, blob ${mb(r.serializedBytes)}, ` +
      `load ${r.deserializeMs.toFixed(0)} ms, loaded index ${mb(r.indexMemoryBytes)} (JS heap ${mb(r.indexHeapBytes)})` +
      (r.ftsBuildMs === undefined ? "" : `, FTS5 build ${(r.ftsBuildMs / 1000).toFixed(1)} s`),
  );
  console.table(
    r.queries.map((q) => ({
      query: q.name,
      kind: q.kind,
      total: q.total,
      "ours p50 ms": ms(q.oursP50Ms),
      "ours p95 ms": ms(q.oursP95Ms),
      "fts5 p50 ms": ms(q.ftsP50Ms),
      "fts5 p95 ms": ms(q.ftsP95Ms),
      "ours/fts5": q.ratioP50 === undefined ? "-" : q.ratioP50.toFixed(3),
    })),
  );
  console.log(
    `over all queries: ours p50 ${ms(r.oursP50Ms)} ms, p95 ${ms(r.oursP95Ms)} ms; FTS5 p50 ${ms(r.ftsP50Ms)} ms, ` +
      `p95 ${ms(r.ftsP95Ms)} ms; ours/FTS5 geometric mean ${r.ratioP50GeoMean?.toFixed(3) ?? "-"}; peak RSS ${mb(r.peakRssBytes)}` +
      (gc ? "" : " (run with node --expose-gc for exact heap figures)"),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const result = await runSearchBench({
    docs: arg("docs"),
    reps: arg("reps"),
    fts: !process.argv.includes("--no-fts"),
  });
  printTable(result);
}
