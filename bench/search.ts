/**
 * Search benchmark: a deterministic synthetic catalog (300,000 records by default) indexed by our
 * engine and by the in-process engines one would pick instead (MiniSearch, Orama, FlexSearch)
 * and SQLite FTS5, each in a process of its own (bench/search-peers.ts), then the same fixed
 * query set on each. Each query asks for the top 20 and the total; the facet-heavy ones also
 * count every value of every facet, each without its own filter. The table reports build, load,
 * memory and p50/p95 per query class, and each engine's p50 over ours per class.
 *
 *   npx tsx bench/search.ts [--docs 300000] [--reps 10] [--engines ours,minisearch]
 *   SEARCH_BENCH_DOCS=30000 npm run bench -- search   (a quick run; the docs' table is 300,000)
 */
import Database from "better-sqlite3";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { SearchDocument } from "../functions/src/search/index.js";
import type { EngineFigures, EngineName } from "./search-peers.js";

export interface SearchBenchOptions {
  docs?: number;
  reps?: number;
  engines?: EngineName[];
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

export interface BenchQuery {
  name: string;
  kind: "single" | "multi" | "prefix" | "identifier" | "filtered" | "facet-heavy";
  q: string;
  filters?: Record<string, string[]>;
  facets: boolean;
}

export const BENCH_QUERIES: BenchQuery[] = [
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
const CLASSES = ["single", "multi", "prefix", "identifier", "filtered", "facet-heavy"] as const;

export const BENCH_WEIGHTS = { name: 3, cellTypes: 2, regions: 2, species: 2, description: 1, keywords: 1 };
export const BENCH_FACETS = ["kind", "source", "species", "region", "cellType"];

// ---- FTS5 side ---------------------------------------------------------------------------------

const FIELDS = Object.keys(BENCH_WEIGHTS) as (keyof typeof BENCH_WEIGHTS)[];
/**
 * Prefix indexes for 2- to 6-character prefixes: FTS5's documented way to make `word*` fast.
 * Longer prefixes are answered from the main index, where the range of completions is short.
 */
const FTS_PREFIXES = "2 3 4 5 6";

export function buildFts(docs: Iterable<SearchDocument>): Database.Database {
  const db = new Database(":memory:");
  db.exec(
    `CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, ${FIELDS.join(", ")}, ` +
      `tokenize = 'unicode61 remove_diacritics 2', prefix = '${FTS_PREFIXES}')`,
  );
  // bm25 with our field weights as the table's rank, so `ORDER BY rank` (the form FTS5 can
  // sort with its own top-N) ranks like `ORDER BY bm25(docs, weights…)`.
  db.prepare("INSERT INTO docs (docs, rank) VALUES ('rank', ?)").run(
    `bm25(0, ${FIELDS.map((f) => BENCH_WEIGHTS[f]).join(", ")})`,
  );
  db.exec("CREATE TABLE facet (rid INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL)");
  const insert = db.prepare(
    `INSERT INTO docs (rowid, id, ${FIELDS.join(", ")}) VALUES (?, ?, ${FIELDS.map(() => "?").join(", ")})`,
  );
  const insertFacet = db.prepare("INSERT INTO facet (rid, name, value) VALUES (?, ?, ?)");
  db.transaction(() => {
    let i = 0;
    for (const d of docs) {
      i += 1;
      insert.run(
        i,
        d.id,
        ...FIELDS.map((f) => {
          const v = d.text[f];
          return Array.isArray(v) ? v.join(" \n ") : (v ?? "");
        }),
      );
      for (const [name, values] of Object.entries(d.facets))
        for (const v of values) insertFacet.run(i, name, v);
    }
  })();
  db.exec("CREATE INDEX facet_value ON facet (name, value, rid)");
  db.exec("INSERT INTO docs (docs) VALUES ('optimize')");
  return db;
}

/** The safe way to hand user words to FTS5: each word a quoted string, the last a prefix. */
function ftsMatch(q: string): string {
  const words = q.split(/\s+/).filter(Boolean);
  return words.map((w, i) => `"${w.replace(/"/g, '""')}"${i === words.length - 1 ? "*" : ""}`).join(" ");
}

/** Runs a bench query on FTS5; returns the total. Statements are prepared once per query form. */
export function ftsRunner(db: Database.Database): (query: BenchQuery) => number {
  const prepared = new Map<string, Database.Statement>();
  const stmt = (sql: string) => {
    let s = prepared.get(sql);
    if (!s) prepared.set(sql, (s = db.prepare(sql)));
    return s;
  };
  return (query: BenchQuery): number => {
    const filters = Object.entries(query.filters ?? {});
    if (query.q && !filters.length && !query.facets) {
      // Without filters the plain form is FTS5's fastest.
      const match = ftsMatch(query.q);
      stmt("SELECT id FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT 20").all(match);
      return (stmt("SELECT count(*) AS n FROM docs WHERE docs MATCH ?").get(match) as { n: number }).n;
    }
    // FTS5 re-runs MATCH per row when it is AND-ed with `rowid IN (…)`, so the matches are
    // materialized once and filtered afterwards (the naive form took 20 s at 30,000 rows).
    const args: string[] = [];
    const source = query.q
      ? "SELECT rowid AS r, id, rank AS s FROM docs WHERE docs MATCH ?"
      : "SELECT rowid AS r, id, 0 AS s FROM docs";
    if (query.q) args.push(ftsMatch(query.q));
    const cond = filters
      .map(
        ([, values]) =>
          `r IN (SELECT rid FROM facet WHERE name = ? AND value IN (${values.map(() => "?").join(", ")}))`,
      )
      .join(" AND ");
    for (const [name, values] of filters) args.push(name, ...values);
    const m = `WITH m AS MATERIALIZED (${source}), f AS (SELECT r, id, s FROM m ${cond ? `WHERE ${cond}` : ""})`;
    stmt(`${m} SELECT id FROM f ORDER BY s, id LIMIT 20`).all(...args);
    const total = (stmt(`${m} SELECT count(*) AS n FROM f`).get(...args) as { n: number }).n;
    if (query.facets) {
      // Each facet counted without its own filter: the matches filtered by the other facets.
      for (const name of BENCH_FACETS) {
        const others = filters.filter(([f]) => f !== name);
        const otherCond = others
          .map(
            ([, values]) =>
              `r IN (SELECT rid FROM facet WHERE name = ? AND value IN (${values.map(() => "?").join(", ")}))`,
          )
          .join(" AND ");
        const otherArgs = others.flatMap(([f, values]) => [f, ...values]);
        stmt(
          `WITH m AS MATERIALIZED (${source}), g AS (SELECT r FROM m ${otherCond ? `WHERE ${otherCond}` : ""}) ` +
            "SELECT value, count(*) FROM facet WHERE name = ? AND rid IN (SELECT r FROM g) GROUP BY value",
        ).all(...(query.q ? [args[0]!] : []), ...otherArgs, name);
      }
    }
    return total;
  };
}

// ---- running the engines -----------------------------------------------------------------------

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export interface ClassFigures {
  p50: number;
  p95: number;
  /** This engine's p50 over ours for the class: above 1 means slower than ours. */
  vsOurs?: number;
}

export interface EngineRow extends EngineFigures {
  classes: Record<string, ClassFigures>;
  /** Over every query's samples. */
  p50: number;
  p95: number;
}

export interface SearchBenchResult {
  docs: number;
  engines: EngineRow[];
  /** Engines within 1.5× of ours at p50 on every query class, with exact facet counts. */
  couldReplaceOurs: string[];
}

function classesOf(f: EngineFigures): { classes: Record<string, ClassFigures>; p50: number; p95: number } {
  const classes: Record<string, ClassFigures> = {};
  for (const kind of CLASSES) {
    const samples = f.queries
      .filter((q) => q.kind === kind && Number.isFinite(q.total))
      .flatMap((q) => q.samples)
      .sort((a, b) => a - b);
    if (samples.length) classes[kind] = { p50: percentile(samples, 50), p95: percentile(samples, 95) };
  }
  const all = f.queries.flatMap((q) => q.samples).sort((a, b) => a - b);
  return { classes, p50: percentile(all, 50), p95: percentile(all, 95) };
}

/** Runs each engine in a fresh process (its memory figures are its own) and puts them side by side. */
export function runSearchBench(opts: SearchBenchOptions = {}): SearchBenchResult {
  const docs = opts.docs ?? Number(process.env.SEARCH_BENCH_DOCS ?? 300_000);
  const reps = opts.reps ?? 10;
  const engines = opts.engines ?? (["ours", "minisearch", "orama", "flexsearch", "fts5"] as EngineName[]);
  const rows: EngineFigures[] = [];
  for (const engine of engines) {
    const started = Date.now();
    const run = spawnSync(
      process.execPath,
      [
        "--expose-gc",
        "--max-old-space-size=8192",
        "--import",
        "tsx",
        path.join(import.meta.dirname, "search-peers.ts"),
        "--engine",
        engine,
        "--docs",
        String(docs),
        "--reps",
        String(engine === "fts5" ? Math.min(reps, 3) : reps),
      ],
      { encoding: "utf8", maxBuffer: 64 << 20 },
    );
    const line = run.stdout.split("\n").find((l) => l.startsWith("RESULT "));
    if (!line) {
      const why = (run.stderr || run.stdout).trim().split("\n").slice(-3).join(" ");
      console.error(
        `search bench: ${engine} failed after ${((Date.now() - started) / 1000).toFixed(0)} s: ${why}`,
      );
      continue;
    }
    rows.push(JSON.parse(line.slice(7)) as EngineFigures);
    console.error(`search bench: ${engine} done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  return tabulate(docs, rows);
}

/** Per-class figures, ratios to ours, and which engine could replace ours. */
export function tabulate(docs: number, figures: EngineFigures[]): SearchBenchResult {
  const rows: EngineRow[] = figures.map((f) => ({ ...f, ...classesOf(f) }));
  const base = rows.find((r) => r.engine === "ours");
  if (base) {
    for (const r of rows) {
      for (const [kind, c] of Object.entries(r.classes)) {
        const ours = base.classes[kind];
        if (ours) c.vsOurs = c.p50 / ours.p50;
      }
    }
  }
  const couldReplaceOurs = rows
    .filter((r) => r.engine !== "ours" && r.facets.startsWith("yes"))
    .filter((r) => CLASSES.every((k) => (r.classes[k]?.vsOurs ?? Infinity) <= 1.5))
    .map((r) => r.engine);
  return { docs, engines: rows, couldReplaceOurs };
}

export function printSearchTable(r: SearchBenchResult): void {
  const mb = (b: number) => (b / 1048576).toFixed(0);
  const ms = (x: number | undefined) =>
    x === undefined || !Number.isFinite(x) ? "-" : x < 10 ? x.toFixed(2) : x.toFixed(0);
  console.log(`search bench: ${r.docs.toLocaleString()} documents, ${BENCH_QUERIES.length} queries`);
  console.table(
    r.engines.map((e) => ({
      engine: e.engine,
      "build s": (e.buildMs / 1000).toFixed(1),
      "blob MB": mb(e.serializedBytes),
      "load ms": e.loadMs.toFixed(0),
      "loaded MB": e.engine === "fts5" ? `${mb(e.serializedBytes)} (db)` : mb(e.loadedBytes),
      "peak RSS MB": mb(e.peakRssBytes),
      "p50 ms": ms(e.p50),
      "p95 ms": ms(e.p95),
    })),
  );
  console.table(
    r.engines.map((e) => ({
      engine: e.engine,
      ...Object.fromEntries(
        CLASSES.map((k) => {
          const c = e.classes[k];
          return [
            k,
            c
              ? `${ms(c.p50)} / ${ms(c.p95)}${c.vsOurs && e.engine !== "ours" ? ` (${c.vsOurs.toFixed(1)}×)` : ""}`
              : "n/a",
          ];
        }),
      ),
    })),
  );
  console.table(
    r.engines.map((e) => ({ engine: e.engine, "exact facet counts": e.facets, limits: e.notes })),
  );
  console.table(
    BENCH_QUERIES.map((q) => ({
      query: q.name,
      ...Object.fromEntries(
        r.engines.map((e) => [`${e.engine} total`, e.queries.find((x) => x.name === q.name)?.total ?? "-"]),
      ),
    })),
  );
  console.log(
    r.couldReplaceOurs.length
      ? `within 1.5× of ours on every class, with exact facets: ${r.couldReplaceOurs.join(", ")}`
      : "no engine is within 1.5× of ours on every query class with exact facet counts",
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const result = runSearchBench({
    ...(arg("docs") ? { docs: Number(arg("docs")) } : {}),
    ...(arg("reps") ? { reps: Number(arg("reps")) } : {}),
    ...(arg("engines") ? { engines: arg("engines")!.split(",") as EngineName[] } : {}),
  });
  printSearchTable(result);
  if (process.argv.includes("--json")) console.log(`JSON ${JSON.stringify(result)}`);
}
