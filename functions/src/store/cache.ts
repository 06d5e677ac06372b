/** A small per-instance cache with a lifetime and a size bound (oldest entries evicted first). */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Stores `value` until `expires` (ms epoch) or the cache lifetime, whichever is sooner. */
  set(key: K, value: V, expires?: number): void {
    const ttlExpiry = this.now() + this.ttlMs;
    this.entries.delete(key);
    this.entries.set(key, { value, expires: Math.min(expires ?? ttlExpiry, ttlExpiry) });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
