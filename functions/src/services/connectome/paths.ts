/**
 * Path algorithms over a Digraph, with networkx's arithmetic.
 *
 * WormWideWeb calls `networkx.all_shortest_paths(G, s, t, method="dijkstra", weight=1/count)`.
 * networkx's Dijkstra accumulates float costs hop by hop from the source (`dist[v] + 1/count`) and
 * keeps a predecessor `v` of `u` only when that sum EQUALS `dist[u]` exactly; every tied path is the
 * walk back along predecessors. Reproducing that (same IEEE doubles, same summation order) is what
 * makes the path sets identical: exact or tolerant arithmetic would return extra "ties".
 * Unweighted is the same with cost 1 per hop (networkx's BFS `predecessor`).
 *
 * Everything here is bounded: `Budget.maxPaths` and `Budget.maxSteps` stop an enumeration and set
 * `truncated`, so no query can run away in time or memory.
 */
import { Heap } from "heap-js";
import type { Digraph, Edge } from "./graph.js";
import { MinHeap } from "./minheap.js";

export interface Budget {
  maxPaths: number;
  /** Work units (edge relaxations, enumeration steps) before giving up with `truncated`. */
  maxSteps: number;
}

export interface PathsResult {
  paths: number[][];
  truncated: boolean;
}

const cost = (e: Edge, weighted: boolean) => (weighted ? 1 / e.count : 1);

/** The cost of a path summed from its start, as networkx accumulates it. */
export function pathCost(g: Digraph, path: number[], weighted: boolean): number {
  let d = 0;
  for (let i = 0; i + 1 < path.length; i++) d = d + cost(g.edge(path[i]!, path[i + 1]!)!, weighted);
  return d;
}

/**
 * Single-source Dijkstra over the whole graph (networkx runs it to exhaustion, target=None); with
 * `direction` "in", over reversed edges: the cost from every node to `start`.
 */
export function distances(
  g: Digraph,
  start: number,
  weighted: boolean,
  direction: "out" | "in" = "out",
): Float64Array {
  const n = g.names.length;
  const dist = new Float64Array(n).fill(Infinity);
  const seen = new Float64Array(n).fill(Infinity);
  const done = new Uint8Array(n);
  const heap = new MinHeap(g.size + 1);
  const edges = direction === "out" ? g.out : g.inn;
  seen[start] = 0;
  heap.push(0, start);
  while (heap.length > 0) {
    const d = heap.peekKey();
    const v = heap.pop();
    if (done[v]) continue;
    done[v] = 1;
    dist[v] = d;
    for (const e of edges[v]!) {
      const u = direction === "out" ? e.to : e.from;
      const vu = d + cost(e, weighted);
      if (!done[u] && vu < seen[u]!) {
        seen[u] = vu;
        heap.push(vu, u);
      }
    }
  }
  return dist;
}

/**
 * Walks predecessor links back from `target`; `isPred(edge, layer)` says whether an in-edge is on a
 * shortest path. Paths come out in code-point order of their node names.
 */
function enumerate(
  g: Digraph,
  source: number,
  target: number,
  preds: (node: number, layer: number) => Edge[],
  startLayer: number,
  budget: Budget,
): PathsResult {
  const paths: number[][] = [];
  let steps = 0;
  let truncated = false;
  const stack: number[] = [target];
  const onPath = new Uint8Array(g.names.length);
  const walk = (node: number, layer: number): void => {
    if (truncated) return;
    if (node === source && layer === 0) {
      paths.push([...stack].reverse());
      if (paths.length >= budget.maxPaths) truncated = true;
      return;
    }
    if (layer === 0) return;
    onPath[node] = 1;
    for (const e of preds(node, layer)) {
      if (++steps > budget.maxSteps) {
        truncated = true;
        break;
      }
      if (onPath[e.from]) continue; // simple paths only (only walks with a repeated node are cut)
      stack.push(e.from);
      walk(e.from, layer - 1);
      stack.pop();
      if (truncated) break;
    }
    onPath[node] = 0;
  };
  walk(target, startLayer);
  paths.sort((a, b) => comparePaths(g, a, b));
  return { paths, truncated };
}

export function comparePaths(g: Digraph, a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = g.names[a[i]!]!;
    const y = g.names[b[i]!]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** networkx.all_shortest_paths (dijkstra or unweighted): every tied shortest path. */
export function allShortestPaths(
  g: Digraph,
  source: number,
  target: number,
  weighted: boolean,
  budget: Budget,
): PathsResult {
  if (source === target) return { paths: [[source]], truncated: false };
  const dist = distances(g, source, weighted);
  if (dist[target] === Infinity) return { paths: [], truncated: false };
  // Costs are positive, so the predecessor links form a DAG: every walk back is a simple path.
  const preds = (node: number) =>
    g.inn[node]!.filter((e) => dist[e.from]! + cost(e, weighted) === dist[node]);
  return enumerateUnlayered(g, source, target, preds, budget);
}

function enumerateUnlayered(
  g: Digraph,
  source: number,
  target: number,
  preds: (node: number) => Edge[],
  budget: Budget,
): PathsResult {
  const paths: number[][] = [];
  let steps = 0;
  let truncated = false;
  const stack: number[] = [target];
  const walk = (node: number): void => {
    if (node === source) {
      paths.push([...stack].reverse());
      if (paths.length >= budget.maxPaths) truncated = true;
      return;
    }
    for (const e of preds(node)) {
      if (++steps > budget.maxSteps) {
        truncated = true;
        return;
      }
      stack.push(e.from);
      walk(e.from);
      stack.pop();
      if (truncated) return;
    }
  };
  walk(target);
  paths.sort((a, b) => comparePaths(g, a, b));
  return { paths, truncated };
}

/**
 * The cheapest paths using at most `maxHops` edges, all ties: a hop-layered Bellman-Ford where
 * D[h][v] is the cheapest cost (summed from the source) of reaching v in exactly h hops.
 */
export function hopLimitedShortestPaths(
  g: Digraph,
  source: number,
  target: number,
  weighted: boolean,
  maxHops: number,
  budget: Budget,
): PathsResult {
  if (source === target) return { paths: [[source]], truncated: false };
  const n = g.names.length;
  const layers: Float64Array[] = [new Float64Array(n).fill(Infinity)];
  layers[0]![source] = 0;
  for (let h = 1; h <= maxHops; h++) {
    const prev = layers[h - 1]!;
    const cur = new Float64Array(n).fill(Infinity);
    for (let v = 0; v < n; v++) {
      const d = prev[v]!;
      if (d === Infinity) continue;
      for (const e of g.out[v]!) {
        const c = d + cost(e, weighted);
        if (c < cur[e.to]!) cur[e.to] = c;
      }
    }
    layers.push(cur);
  }
  let best = Infinity;
  for (let h = 1; h <= maxHops; h++) best = Math.min(best, layers[h]![target]!);
  if (best === Infinity) return { paths: [], truncated: false };
  const paths: number[][] = [];
  let truncated = false;
  const remaining = { ...budget };
  for (let h = 1; h <= maxHops && !truncated; h++) {
    if (layers[h]![target] !== best) continue;
    const got = enumerate(
      g,
      source,
      target,
      (node, layer) =>
        g.inn[node]!.filter((e) => layers[layer - 1]![e.from]! + cost(e, weighted) === layers[layer]![node]),
      h,
      remaining,
    );
    paths.push(...got.paths);
    remaining.maxPaths -= got.paths.length;
    truncated = got.truncated || remaining.maxPaths <= 0;
  }
  paths.sort((a, b) => comparePaths(g, a, b));
  return { paths, truncated };
}

/**
 * One cheapest path avoiding `blockedNodes` and `blockedEdges` (`from * n + to`), or undefined.
 * A* guided by the exact distances to the target in the whole graph (`toTarget`): blocking only
 * lengthens paths, so the guide never overestimates and the first arrival is the cheapest.
 */
function cheapestPath(
  g: Digraph,
  source: number,
  target: number,
  weighted: boolean,
  blockedNodes: Set<number>,
  blockedEdges: Set<number>,
  toTarget: Float64Array,
  work: { steps: number },
): number[] | undefined {
  const n = g.names.length;
  const dist = new Float64Array(n).fill(Infinity);
  const prev = new Int32Array(n).fill(-1);
  const done = new Uint8Array(n);
  const heap = new MinHeap(64);
  dist[source] = 0;
  heap.push(toTarget[source]!, source);
  while (heap.length > 0) {
    const v = heap.pop();
    if (done[v]) continue;
    done[v] = 1;
    if (v === target) break;
    const d = dist[v]!;
    work.steps += g.out[v]!.length;
    for (const e of g.out[v]!) {
      if (done[e.to] || toTarget[e.to] === Infinity) continue;
      if (blockedNodes.has(e.to) || blockedEdges.has(v * n + e.to)) continue;
      const c = d + cost(e, weighted);
      if (c < dist[e.to]!) {
        dist[e.to] = c;
        prev[e.to] = v;
        heap.push(c + toTarget[e.to]!, e.to);
      }
    }
  }
  if (!done[target]) return undefined;
  const path = [target];
  while (path[path.length - 1] !== source) path.push(prev[path[path.length - 1]!]!);
  return path.reverse();
}

/**
 * Yen's k shortest loopless paths, cheapest first; equal costs come in code-point order of names.
 * Costs are re-summed from the source for every candidate so they compare like networkx's.
 */
export function kShortestPaths(
  g: Digraph,
  source: number,
  target: number,
  weighted: boolean,
  k: number,
  budget: Budget,
): PathsResult & { costs: number[] } {
  if (source === target) return { paths: [[source]], costs: [0], truncated: false };
  const n = g.names.length;
  // Cost from every node to the target: the A* guide of cheapestPath.
  const toTarget = distances(g, target, weighted, "in");
  const work = { steps: g.size };
  const first = cheapestPath(g, source, target, weighted, new Set(), new Set(), toTarget, work);
  if (!first) return { paths: [], costs: [], truncated: false };
  const accepted: number[][] = [first];
  const costs = [pathCost(g, first, weighted)];
  const key = (p: number[]) => p.join(",");
  const known = new Set([key(first)]);
  const candidates = new Heap<{ cost: number; path: number[] }>(
    (a, b) => a.cost - b.cost || comparePaths(g, a.path, b.path),
  );
  let truncated = false;
  while (accepted.length < Math.min(k, budget.maxPaths)) {
    const last = accepted[accepted.length - 1]!;
    for (let j = 0; j + 1 < last.length; j++) {
      if (work.steps > budget.maxSteps) {
        truncated = true;
        break;
      }
      const root = last.slice(0, j + 1);
      const blockedEdges = new Set<number>();
      for (const p of accepted)
        if (p.length > j + 1 && root.every((v, i) => p[i] === v)) blockedEdges.add(p[j]! * n + p[j + 1]!);
      const blockedNodes = new Set(root.slice(0, j));
      const spur = cheapestPath(g, last[j]!, target, weighted, blockedNodes, blockedEdges, toTarget, work);
      if (!spur) continue;
      const path = [...root.slice(0, j), ...spur];
      const id = key(path);
      if (known.has(id)) continue;
      known.add(id);
      candidates.push({ cost: pathCost(g, path, weighted), path });
    }
    if (truncated || candidates.length === 0) break;
    const next = candidates.pop()!;
    accepted.push(next.path);
    costs.push(next.cost);
  }
  if (accepted.length < k && accepted.length >= budget.maxPaths) truncated = true;
  return { paths: accepted, costs, truncated };
}
