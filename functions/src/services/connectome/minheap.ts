/**
 * A binary min-heap of (key, node) pairs in typed arrays, for Dijkstra with lazy deletion: no
 * object per entry, so a search over 9,000 edges allocates two arrays and nothing else. Equal keys
 * pop in node order, which keeps single-path answers deterministic.
 */
export class MinHeap {
  private keys: Float64Array;
  private nodes: Int32Array;
  length = 0;

  constructor(capacity: number) {
    this.keys = new Float64Array(Math.max(capacity, 16));
    this.nodes = new Int32Array(Math.max(capacity, 16));
  }

  private less(i: number, j: number): boolean {
    const a = this.keys[i]!;
    const b = this.keys[j]!;
    return a < b || (a === b && this.nodes[i]! < this.nodes[j]!);
  }

  private swap(i: number, j: number): void {
    const k = this.keys[i]!;
    this.keys[i] = this.keys[j]!;
    this.keys[j] = k;
    const n = this.nodes[i]!;
    this.nodes[i] = this.nodes[j]!;
    this.nodes[j] = n;
  }

  push(key: number, node: number): void {
    if (this.length === this.keys.length) {
      const keys = new Float64Array(this.keys.length * 2);
      keys.set(this.keys);
      const nodes = new Int32Array(this.nodes.length * 2);
      nodes.set(this.nodes);
      this.keys = keys;
      this.nodes = nodes;
    }
    let i = this.length++;
    this.keys[i] = key;
    this.nodes[i] = node;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** The smallest key (call before pop). */
  peekKey(): number {
    return this.keys[0]!;
  }

  /** Removes the smallest entry and returns its node. */
  pop(): number {
    const top = this.nodes[0]!;
    this.length -= 1;
    if (this.length > 0) {
      this.keys[0] = this.keys[this.length]!;
      this.nodes[0] = this.nodes[this.length]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.length && this.less(l, m)) m = l;
        if (r < this.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}
