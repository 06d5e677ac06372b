/**
 * Connectome path queries on the largest graph size WormWideWeb serves (590 cells, like
 * cook_jarrell_2019_m, which is not shipped for licence reasons: a synthetic dataset with its
 * record counts — 5,306 chemical, 1,741 gap-junction pairs stored both ways, counts ~ geometric
 * with mean 8.8 — drawn with a fixed seed from the real cell table, hubs included).
 *
 * Figures: a cold instance's first find-paths answer over HTTP (dataset list, cell table and graph
 * read from Firestore, graph built); warm find-paths p50/p95 over HTTP and in process; k=10 p95;
 * the most distant pair; memory of every graph loaded. Ratios are against the raw operations in
 * the same run: a plain BFS over the same adjacency (in process) and a /healthz round trip (HTTP).
 *
 *   npx tsx bench/connectome.ts
 */
import { pathToFileURL } from "node:url";
import { makeConnectomeApi } from "../functions/src/api/connectome.js";
import { configSchema } from "../functions/src/config.js";
import { createApp } from "../functions/src/http/app.js";
import type { Logger } from "../functions/src/log.js";
import type { FindPathsQuery } from "../functions/src/schemas/connectome.js";
import { createRoot } from "../functions/src/services/root.js";
import {
  readConnectomeFolder,
  writeConnectome,
  type IngestedDataset,
} from "../functions/src/services/connectome/ingest.js";
import { DEFAULT_PATH_LIMITS, findPaths } from "../functions/src/services/connectome/queries.js";
import { ConnectomeStore } from "../functions/src/services/connectome/store.js";
import { firestore } from "../functions/src/store/firebase.js";
import { benchFirestore, listen, percentile, PROJECT_ID, round, timeEach, NO_RATE_LIMITS } from "./lib.js";

const silent: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const DATASET = "synthetic_590";

/** mulberry32: a tiny seeded PRNG, so every run benchmarks the same graph and the same pairs. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function synthetic(cellNames: string[]): IngestedDataset {
  const rand = prng(590);
  const names = cellNames.slice(0, 590);
  // Skewed choice: a few hub cells take many synapses, as command interneurons do.
  const pick = () => Math.floor(names.length * Math.pow(rand(), 1.8));
  const count = () => 1 + Math.floor(Math.log(1 - rand()) / Math.log(1 - 1 / 8.8));
  const rows: IngestedDataset["graph"]["rows"] = [];
  const seen = new Set<string>();
  const add = (a: number, b: number, t: 0 | 1, n: number) => {
    const key = `${a},${b},${t}`;
    if (a === b || seen.has(key)) return false;
    seen.add(key);
    rows.push([a, b, t, n]);
    return true;
  };
  while (rows.length < 5306) add(pick(), Math.floor(rand() * names.length), 0, count());
  let pairs = 0;
  while (pairs < 1741) {
    const a = pick();
    const b = Math.floor(rand() * names.length);
    const n = count();
    if (a !== b && !seen.has(`${a},${b},1`) && !seen.has(`${b},${a},1`)) {
      add(a, b, 1, n);
      add(b, a, 1, n);
      pairs += 1;
    }
  }
  return {
    doc: {
      id: DATASET,
      name: "Synthetic 590-cell connectome (benchmark)",
      type: "complete",
      time: 60,
      visualTime: 50,
      description: "cook_jarrell_2019_m-sized, seeded random",
      citation: [],
      sha256: "0".repeat(64),
      public: true,
      neurons: names,
      synapses: rows.reduce((a, r) => a + r[3], 0),
      version: "synthetic-590-v1",
    },
    graph: { names, rows },
  };
}

/** The raw operation: a plain BFS over the same adjacency, to the end node. */
function bfs(out: { to: number }[][], s: number, t: number): number {
  const depth = new Int32Array(out.length).fill(-1);
  const queue = [s];
  depth[s] = 0;
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i]!;
    if (v === t) return depth[v]!;
    for (const e of out[v]!)
      if (depth[e.to] === -1) {
        depth[e.to] = depth[v]! + 1;
        queue.push(e.to);
      }
  }
  return -1;
}

const heapMb = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
};

export async function runConnectomeBench(): Promise<Record<string, number | string>> {
  const emulator = await benchFirestore();
  try {
    const db = firestore();
    const plan = await readConnectomeFolder("emulator-data/connectome");
    const big = synthetic(plan.cells.cells.map((c) => c.name));
    await writeConnectome({ db }, { ...plan, datasets: [...plan.datasets, big] });
    const config = configSchema.parse({
      rateLimits: NO_RATE_LIMITS,
      projectId: PROJECT_ID,
      tokenSecret: "bench-secret-0123456789abcdef0123",
    });
    const deps = createRoot({ config, db, log: silent });
    const server = await listen(createApp(makeConnectomeApi(), deps));
    const get = async (path: string) => {
      const res = await fetch(`${server.url}${path}`);
      const body = (await res.json()) as { paths?: unknown[] };
      if (!res.ok) throw new Error(`${path}: ${res.status}`);
      return body;
    };

    const rand = prng(7);
    const names = big.graph.names;
    const pairs = Array.from({ length: 600 }, () => [
      names[Math.floor(rand() * names.length)]!,
      names[Math.floor(rand() * names.length)]!,
    ]);
    const url = (s: string, t: string, extra = "") =>
      `/v2/connectome/find-paths?dataset=${DATASET}&start=${s}&end=${t}&weighted=true&gap_junction=true${extra}`;

    const t0 = performance.now();
    await get(url(pairs[0]![0]!, pairs[0]![1]!));
    const coldMs = performance.now() - t0;

    for (const [s, t] of pairs.slice(0, 50)) await get(url(s!, t!));
    let i = 0;
    const httpMs = await timeEach(500, () => {
      const [s, t] = pairs[i++ % pairs.length]!;
      return get(url(s!, t!));
    });
    i = 0;
    const kMs = await timeEach(200, () => {
      const [s, t] = pairs[i++ % pairs.length]!;
      return get(url(s!, t!, "&k=10"));
    });
    await timeEach(50, () => get("/healthz"));
    const healthMs = await timeEach(500, () => get("/healthz"));

    // In process: the same queries on the service, and the raw BFS over the same adjacency.
    const memBefore = heapMb();
    const store = new ConnectomeStore({ db, now: () => new Date(), ttlMs: 60_000 });
    const docs = [...(await store.datasets()).values()];
    for (const doc of docs) (await store.graphsOf(doc)).warm();
    const memAll = heapMb() - memBefore;
    const doc = docs.find((d) => d.id === DATASET)!;
    const g = (await store.graphsOf(doc)).graph("neuron", "both");
    const query = (s: string, t: string, extra: Partial<FindPathsQuery> = {}): FindPathsQuery => ({
      dataset: DATASET,
      start: s,
      end: t,
      weighted: true,
      gap_junction: true,
      class: false,
      ...extra,
    });
    i = 0;
    const svcMs = await timeEach(1000, () => {
      const [s, t] = pairs[i++ % pairs.length]!;
      return findPaths(store, [doc], query(s!, t!), DEFAULT_PATH_LIMITS, false);
    });
    i = 0;
    const bfsMs = await timeEach(1000, () => {
      const [s, t] = pairs[i++ % pairs.length]!;
      return Promise.resolve(bfs(g.out, g.index.get(s!)!, g.index.get(t!)!));
    });

    // The most distant pair (longest BFS distance), unweighted: the most tied paths, no caps set.
    let far: [number, number, number] = [0, 0, -1];
    for (let s = 0; s < g.names.length; s++) {
      const depth = new Int32Array(g.names.length).fill(-1);
      const queue = [s];
      depth[s] = 0;
      for (let q = 0; q < queue.length; q++)
        for (const e of g.out[queue[q]!]!)
          if (depth[e.to] === -1) {
            depth[e.to] = depth[queue[q]!]! + 1;
            queue.push(e.to);
          }
      for (let t = 0; t < depth.length; t++) if (depth[t]! > far[2]) far = [s, t, depth[t]!];
    }
    const farUrl = `/v2/connectome/find-paths?dataset=${DATASET}&start=${g.names[far[0]]}&end=${g.names[far[1]]}&gap_junction=true`;
    const tf = performance.now();
    const farBody = await get(farUrl);
    const farMs = performance.now() - tf;
    await server.close();

    return {
      "graph (synthetic, cook_jarrell_2019_m-sized)": `${g.names.length} nodes, ${g.size} edges`,
      "cold instance: first find-paths ms (HTTP)": round(coldMs, 1),
      "find-paths p50 ms (HTTP, warm)": round(percentile(httpMs, 50), 3),
      "find-paths p95 ms (HTTP, warm)": round(percentile(httpMs, 95), 3),
      "find-paths k=10 p95 ms (HTTP)": round(percentile(kMs, 95), 3),
      "/healthz p50 ms (HTTP, raw round trip)": round(percentile(healthMs, 50), 3),
      "find-paths / healthz (p50)": round(percentile(httpMs, 50) / percentile(healthMs, 50)),
      "find-paths p50 ms (in process)": round(percentile(svcMs, 50), 3),
      "find-paths p95 ms (in process)": round(percentile(svcMs, 95), 3),
      "plain BFS p50 ms (same adjacency)": round(percentile(bfsMs, 50), 4),
      "find-paths / BFS (p50, in process)": round(percentile(svcMs, 50) / percentile(bfsMs, 50)),
      "most distant pair (hops, paths, ms)": `${far[2]}, ${farBody.paths?.length ?? 0}, ${round(farMs, 1)}`,
      "heap MB, all graphs loaded (10 datasets x 4 graphs)": round(memAll, 1),
    };
  } finally {
    await emulator.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  console.table(await runConnectomeBench());
  process.exit(0);
}
