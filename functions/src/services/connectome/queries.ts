/**
 * WormWideWeb's three connectome queries over the per-instance store, with its semantics (see
 * docs/connectome.md): available-neurons, get-edges and find-paths, plus our path extensions.
 */
import { badRequest, notFound } from "../../errors.js";
import type {
  AvailableNeurons,
  ConnectomeDatasetDoc,
  FindPathsOne,
  FindPathsQuery,
  FindPathsResponse,
  GetEdgesBody,
  GetEdgesResponse,
  PathResult,
} from "../../schemas/connectome.js";
import type { Digraph, Level, TypeFilter } from "./graph.js";
import { allShortestPaths, hopLimitedShortestPaths, kShortestPaths, pathCost, type Budget } from "./paths.js";
import type { ConnectomeStore } from "./store.js";

/** Who may read a dataset; throws 401/403 itself. Published (public) datasets need nothing. */
export type Authorize = (doc: ConnectomeDatasetDoc) => Promise<void>;

export interface PathLimits {
  /** Paths returned when the caller sets no `maxPaths`. */
  defaultMaxPaths: number;
  /** The most paths any query returns. */
  hardMaxPaths: number;
  /** Work units (edge relaxations, enumeration steps) per dataset before `truncated`. */
  maxSteps: number;
}

export const DEFAULT_PATH_LIMITS: PathLimits = {
  defaultMaxPaths: 1000,
  hardMaxPaths: 10000,
  maxSteps: 2_000_000,
};

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Resolves ids to readable dataset documents: 404 for an unknown id, 401/403 from `authorize`. */
export async function resolveDatasets(
  store: ConnectomeStore,
  ids: string[],
  authorize: Authorize,
): Promise<ConnectomeDatasetDoc[]> {
  const all = await store.datasets();
  const docs: ConnectomeDatasetDoc[] = [];
  for (const id of ids) {
    const doc = all.get(id);
    if (!doc) throw notFound(`Unknown connectome dataset ${id}`);
    await authorize(doc);
    docs.push(doc);
  }
  return docs;
}

export async function availableNeurons(
  store: ConnectomeStore,
  docs: ConnectomeDatasetDoc[],
): Promise<AvailableNeurons> {
  const cells = await store.cells();
  const neurons: AvailableNeurons["neurons"] = {};
  const classes = new Set<string>();
  for (const doc of docs)
    for (const name of doc.neurons) {
      const cell = cells.byName.get(name);
      if (!cell) continue;
      neurons[name] = {
        neuron_class: cell.class,
        name,
        cell_type: cell.type_code,
        cell_type_desc: cell.type,
      };
      classes.add(cell.class);
    }
  const neuron_classes: AvailableNeurons["neuron_classes"] = {};
  for (const cls of classes) neuron_classes[cls] = cells.members.get(cls) ?? [];
  return { neurons, neuron_classes };
}

export async function getEdges(
  store: ConnectomeStore,
  docs: ConnectomeDatasetDoc[],
  body: GetEdgesBody,
): Promise<GetEdgesResponse> {
  const cells = await store.cells();
  const neuronsInput = new Set(body.neurons);
  const classesInput = new Set(body.classes);
  if (neuronsInput.size === 0 && classesInput.size === 0)
    throw badRequest("At least one neuron or class must be provided.");
  for (const n of neuronsInput) if (!cells.byName.has(n)) throw badRequest(`Unknown neuron ${n}`);
  for (const c of classesInput) if (!cells.members.has(c)) throw badRequest(`Unknown neuron class ${c}`);
  // Classes of the input neurons are "split": their other members show individually.
  const splitClasses = new Set([...neuronsInput].map((n) => cells.byName.get(n)!.class));
  const classOf = (n: string) => cells.byName.get(n)?.class ?? n;
  const label = (neuron: string, cls: string) => {
    if (neuronsInput.has(neuron)) return neuron;
    if (classesInput.has(cls)) return cls;
    if (body.show_individual_neuron || splitClasses.has(cls)) return neuron;
    return cls;
  };
  const inInput = (neuron: string, cls: string) => neuronsInput.has(neuron) || classesInput.has(cls);
  // Gap junctions are undirected: one key per unordered pair of labels.
  const key = (pre: string, post: string, type: "c" | "e") =>
    type === "e" ? [pre < post ? pre : post, pre < post ? post : pre, type] : [pre, post, type];

  const collected = new Map<string, { key: string[]; counts: number[] }>();
  for (const [i, doc] of docs.entries()) {
    const { names, rows } = (await store.graphsOf(doc)).blob;
    // Within a dataset every underlying neuron pair counts once (an electrical pair is stored in
    // both directions, and a row can touch two inputs).
    const counted = new Set<string>();
    for (const [p, q, t, count] of rows) {
      const pre = names[p]!;
      const post = names[q]!;
      const preClass = classOf(pre);
      const postClass = classOf(post);
      const touches = inInput(pre, preClass) || inInput(post, postClass);
      if (!touches) continue;
      if (!body.show_connected_neuron && !(inInput(pre, preClass) && inInput(post, postClass))) continue;
      const type = t === 0 ? "c" : "e";
      const labelKey = key(label(pre, preClass), label(post, postClass), type);
      const id = labelKey.join("\0");
      let entry = collected.get(id);
      if (!entry) {
        entry = { key: labelKey, counts: docs.map(() => 0) };
        collected.set(id, entry);
      }
      const pairId = key(pre, post, type).join("\0");
      if (!counted.has(pairId)) {
        entry.counts[i]! += count;
        counted.add(pairId);
      }
    }
  }
  const entries = [...collected.values()].sort(
    (a, b) =>
      byCodePoint(a.key[0]!, b.key[0]!) ||
      byCodePoint(a.key[1]!, b.key[1]!) ||
      byCodePoint(a.key[2]!, b.key[2]!),
  );
  const labels = new Set<string>();
  const synapses = entries.map(({ key: [pre, post, type], counts }) => {
    labels.add(pre!);
    labels.add(post!);
    return {
      pre: pre!,
      post: post!,
      type: type as "c" | "e",
      count: counts.reduce((a, b) => a + b, 0),
      list_count: counts,
    };
  });
  return { datasets: docs.map((d) => d.id), neurons: [...labels].sort(byCodePoint), synapses };
}

function typeFilter(query: FindPathsQuery): TypeFilter {
  if (query.synapseType) return query.synapseType;
  return query.gap_junction ? "both" : "chemical";
}

function describe(g: Digraph, path: number[], weighted: boolean): PathResult {
  const edges = [];
  let weakest: PathResult["weakest_edge"] = null;
  let total = 0;
  for (let i = 0; i + 1 < path.length; i++) {
    const e = g.edge(path[i]!, path[i + 1]!)!;
    const edge = { pre: g.names[e.from]!, post: g.names[e.to]!, count: e.count, type: e.type };
    edges.push(edge);
    total += e.count;
    if (!weakest || e.count < weakest.count) weakest = edge;
  }
  return {
    path: path.map((v) => g.names[v]!),
    edges,
    total_weight: total,
    hops: path.length - 1,
    weakest_edge: weakest,
    cost: pathCost(g, path, weighted),
  };
}

async function findPathsIn(
  store: ConnectomeStore,
  doc: ConnectomeDatasetDoc,
  query: FindPathsQuery,
  budget: Budget,
  single: boolean,
): Promise<FindPathsOne> {
  const start = query.start!;
  const end = query.end!;
  const level: Level = query.class ? "class" : "neuron";
  const types = typeFilter(query);
  const base = (await store.graphsOf(doc)).graph(level, types);
  const g = query.minSynapses && query.minSynapses > 1 ? base.withMinCount(query.minSynapses) : base;
  const source = g.index.get(start);
  const target = g.index.get(end);
  const none = (truncated = false): FindPathsOne => ({
    paths: [],
    message: "No path found",
    truncated,
    ...(single ? {} : { dataset_id: doc.id }),
  });
  // WormWideWeb: an unknown start is a 400 (networkx NodeNotFound) but an unknown end is simply
  // unreachable (200 "No path found"). Across several datasets a missing start is "no path" there.
  if (source === undefined) {
    if (!single) return none();
    throw badRequest(`Start neuron ${start} is not in the ${level} graph of ${doc.id}`);
  }
  if (target === undefined) return none();
  const weighted = query.weighted;
  const result =
    query.k !== undefined
      ? kShortestPaths(g, source, target, weighted, query.k, budget)
      : query.maxHops !== undefined
        ? hopLimitedShortestPaths(g, source, target, weighted, query.maxHops, budget)
        : allShortestPaths(g, source, target, weighted, budget);
  if (result.paths.length === 0) return none(result.truncated);
  const paths = result.paths.map((p) => describe(g, p, weighted));
  const nodes = new Set<string>();
  for (const p of paths) for (const e of p.edges) nodes.add(e.pre).add(e.post);
  return {
    dataset_id: doc.id,
    start_neuron: start,
    end_neuron: end,
    use_weights: weighted,
    use_gap_junction: types !== "chemical",
    nodes: [...nodes].sort(byCodePoint),
    paths,
    truncated: result.truncated,
  };
}

export async function findPaths(
  store: ConnectomeStore,
  docs: ConnectomeDatasetDoc[],
  query: FindPathsQuery,
  limits: PathLimits,
  multi: boolean,
): Promise<FindPathsResponse> {
  const budget: Budget = {
    maxPaths: Math.min(query.maxPaths ?? limits.defaultMaxPaths, limits.hardMaxPaths),
    maxSteps: limits.maxSteps,
  };
  if (!multi) return findPathsIn(store, docs[0]!, query, budget, true);
  const results: FindPathsOne[] = [];
  for (const doc of docs) results.push(await findPathsIn(store, doc, query, budget, false));
  return { results };
}
