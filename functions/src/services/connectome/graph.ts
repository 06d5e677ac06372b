/**
 * A connectome as WormWideWeb's path finder sees it: a simple directed graph whose nodes are the
 * cells (or classes) that have at least one edge, with one edge per (pre, post).
 * WormWideWeb's `add_min_edge` (despite its docstring) keeps the LARGER count and that count's type
 * when a chemical and an electrical connection join the same pair, and a class edge keeps the
 * largest single neuron-pair count between the two classes (not the sum); class self-loops exist.
 */
import type { GraphBlob } from "../../schemas/connectome.js";

export type SynapseType = "c" | "e";
export type Level = "neuron" | "class";
export type TypeFilter = "both" | "chemical" | "electrical";

export interface Edge {
  from: number;
  to: number;
  count: number;
  type: SynapseType;
}

export class Digraph {
  readonly names: string[] = [];
  readonly index = new Map<string, number>();
  readonly out: Edge[][] = [];
  readonly inn: Edge[][] = [];
  private readonly edges = new Map<number, Edge>();
  private static readonly STRIDE = 1 << 16;

  node(name: string): number {
    let i = this.index.get(name);
    if (i === undefined) {
      i = this.names.length;
      this.names.push(name);
      this.index.set(name, i);
      this.out.push([]);
      this.inn.push([]);
    }
    return i;
  }

  edge(from: number, to: number): Edge | undefined {
    return this.edges.get(from * Digraph.STRIDE + to);
  }

  /** WormWideWeb's add_min_edge: a new pair is added; an existing one keeps the larger count. */
  addMaxEdge(pre: string, post: string, count: number, type: SynapseType): void {
    const from = this.node(pre);
    const to = this.node(post);
    const existing = this.edge(from, to);
    if (existing) {
      if (count > existing.count) {
        existing.count = count;
        existing.type = type;
      }
      return;
    }
    const edge: Edge = { from, to, count, type };
    this.edges.set(from * Digraph.STRIDE + to, edge);
    this.out[from]!.push(edge);
    this.inn[to]!.push(edge);
  }

  get size(): number {
    return this.edges.size;
  }

  /** A copy without the edges below `min` synapses (nodes left without edges disappear). */
  withMinCount(min: number): Digraph {
    const g = new Digraph();
    for (const list of this.out)
      for (const e of list)
        if (e.count >= min) g.addMaxEdge(this.names[e.from]!, this.names[e.to]!, e.count, e.type);
    return g;
  }
}

/** One dataset's synapse rows and its cell → class map; builds and keeps its graphs. */
export class DatasetGraphs {
  private readonly built = new Map<string, Digraph>();

  constructor(
    readonly blob: GraphBlob,
    private readonly classOf: (cell: string) => string,
  ) {}

  graph(level: Level, types: TypeFilter): Digraph {
    const key = `${level}|${types}`;
    let g = this.built.get(key);
    if (!g) {
      g = new Digraph();
      const { names, rows } = this.blob;
      for (const [pre, post, t, count] of rows) {
        const type: SynapseType = t === 0 ? "c" : "e";
        if ((types === "chemical" && type !== "c") || (types === "electrical" && type !== "e")) continue;
        const a = names[pre]!;
        const b = names[post]!;
        if (level === "neuron") g.addMaxEdge(a, b, count, type);
        else g.addMaxEdge(this.classOf(a), this.classOf(b), count, type);
      }
      this.built.set(key, g);
    }
    return g;
  }

  /** Builds WormWideWeb's four graphs now (what a cold instance pays once). */
  warm(): void {
    for (const level of ["neuron", "class"] as const)
      for (const types of ["both", "chemical"] as const) this.graph(level, types);
  }
}
