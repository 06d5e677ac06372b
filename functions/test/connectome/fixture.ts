/**
 * The connectome test fixture: the shipped WormWideWeb-format folder, a server with a fresh
 * connectome group (a cold instance), and an INDEPENDENT reference for golden answers.
 *
 * The reference shares no code with the service. It re-reads the raw files, applies WormWideWeb's
 * import rules in the most literal way (rename, merge, drop unknown cells, keep the larger count
 * per pair), and finds shortest paths by brute force over simple paths instead of Dijkstra:
 *   - a depth-first search over every simple path from the start, summing float costs hop by hop
 *     from the start exactly as networkx does (cost 1/count, or 1 per hop);
 *   - it prunes a branch only when its prefix cost to some node is strictly above the best prefix
 *     cost seen for that node (such a path can never have only optimal prefixes);
 *   - the answer is every path to the end whose cost, and every prefix cost, equals the best
 *     (networkx's predecessor semantics: a path is returned iff each prefix is a shortest path).
 * Ties are exact float equality, like networkx.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { makeConnectomeApi } from "../../src/api/connectome.js";
import { readConnectomeFolder, writeConnectome } from "../../src/services/connectome/ingest.js";
import { firestore } from "../../src/store/firebase.js";
import { resetToSeed, serve, type TestServer } from "../helpers/server.js";

export const CONNECTOME_DIR = path.join(import.meta.dirname, "..", "..", "..", "emulator-data", "connectome");

let plan: ReturnType<typeof readConnectomeFolder> | undefined;

/** Ingests the shipped folder (read and checked once per run), or only the named datasets. */
export async function ingestFixture(only?: string[]): Promise<void> {
  const full = await (plan ??= readConnectomeFolder(CONNECTOME_DIR));
  const datasets = only ? full.datasets.filter((d) => only.includes(d.doc.id)) : full.datasets;
  await writeConnectome({ db: firestore() }, { ...full, datasets });
}

/** A server with a cold connectome group over the seeded personas and the ingested fixture. */
export async function connectomeServer(
  options: Parameters<typeof makeConnectomeApi>[0] = {},
): Promise<TestServer & { api: ReturnType<typeof makeConnectomeApi> }> {
  const api = makeConnectomeApi(options);
  const server = await serve(api);
  await resetToSeed(server);
  await ingestFixture();
  return Object.assign(server, { api });
}

// ---- the independent reference -------------------------------------------------------------------

interface RefEdge {
  count: number;
  type: "c" | "e";
}
export type RefGraph = Map<string, Map<string, RefEdge>>;

function csvRows(file: string): string[][] {
  return readFileSync(file, "utf8")
    .replace(/^\uFEFF/, "")
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(","));
}

/** WormWideWeb's four graphs of a dataset, built literally from the raw files. */
export function referenceGraph(dataset: string, level: "neuron" | "class", chemicalOnly: boolean): RefGraph {
  const dir = CONNECTOME_DIR;
  const classOf = new Map(
    csvRows(path.join(dir, "connectome", "connectome_neurons.csv")).map((r) => [r[0]!, r[1]!]),
  );
  const rename = new Map(
    csvRows(path.join(dir, "config", "connectome_neurons_replacement.csv")).map((r) => [r[0]!, r[1]!]),
  );
  const entries = JSON.parse(
    readFileSync(path.join(dir, "connectome", "connectome_datasets.json"), "utf8"),
  ) as {
    id: string;
    skip_gap_junction?: boolean;
  }[];
  const skipGap = entries.find((e) => e.id === dataset)?.skip_gap_junction === true;
  const records = JSON.parse(
    readFileSync(path.join(dir, "connectome", "connectome", `${dataset}.json`), "utf8"),
  ) as { pre: string; post: string; typ: number; syn: number[] }[];
  const merged = new Map<string, [string, string, "c" | "e", number]>();
  for (const r of records) {
    if (r.typ === 2 && skipGap) continue;
    const pre = rename.get(r.pre) ?? r.pre;
    const post = rename.get(r.post) ?? r.post;
    const type = r.typ === 0 ? "c" : "e";
    const k = JSON.stringify([pre, post, type]);
    const sum = r.syn.reduce((a, b) => a + b, 0);
    const m = merged.get(k);
    if (m) m[3] += sum;
    else merged.set(k, [pre, post, type, sum]);
  }
  const g: RefGraph = new Map();
  for (const [pre, post, type, count] of merged.values()) {
    if (!classOf.has(pre) || !classOf.has(post)) continue;
    if (chemicalOnly && type !== "c") continue;
    const a = level === "class" ? classOf.get(pre)! : pre;
    const b = level === "class" ? classOf.get(post)! : post;
    if (!g.has(a)) g.set(a, new Map());
    if (!g.has(b)) g.set(b, new Map());
    const old = g.get(a)!.get(b);
    if (!old) g.get(a)!.set(b, { count, type });
    else if (count > old.count) g.get(a)!.set(b, { count, type });
  }
  return g;
}

/** Every networkx-tied shortest path, by brute force over simple paths (see the file comment). */
export function referencePaths(g: RefGraph, start: string, end: string, weighted: boolean): string[][] {
  if (!g.has(start)) throw new Error(`reference: ${start} not in graph`);
  if (start === end) return [[start]];
  const best = new Map<string, number>([[start, 0]]);
  const found: { path: string[]; prefix: number[] }[] = [];
  const onPath = new Set<string>([start]);
  const pathNow = [start];
  const costs = [0];
  const visit = (node: string, d: number) => {
    for (const [next, e] of g.get(node)!) {
      if (onPath.has(next)) continue;
      const nd = d + (weighted ? 1 / e.count : 1);
      const b = best.get(next);
      if (b !== undefined && nd > b) continue;
      if (b === undefined || nd < b) best.set(next, nd);
      pathNow.push(next);
      costs.push(nd);
      if (next === end) found.push({ path: [...pathNow], prefix: [...costs] });
      else {
        onPath.add(next);
        visit(next, nd);
        onPath.delete(next);
      }
      pathNow.pop();
      costs.pop();
    }
  };
  visit(start, 0);
  return found
    .filter(({ path: p, prefix }) => p.every((n, i) => prefix[i] === best.get(n)))
    .map(({ path: p }) => p)
    .sort((a, b) => (a.join("\0") < b.join("\0") ? -1 : a.join("\0") > b.join("\0") ? 1 : 0));
}

export interface Example {
  id: string;
  dataset: string;
  start: string;
  end: string;
  weighted: boolean;
  gap_junction: boolean;
  class: boolean;
  status: number;
  paths: string[][];
  response: Record<string, unknown>;
}

export const EXAMPLES = JSON.parse(
  readFileSync(path.join(CONNECTOME_DIR, "EXAMPLES.json"), "utf8"),
) as Example[];

export const findPathsUrl = (q: Record<string, string | number | boolean>) =>
  `/v2/connectome/find-paths?${new URLSearchParams(Object.entries(q).map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
