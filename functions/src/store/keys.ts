/**
 * API keys and viewer tokens in `neurofire_api_keys`, one document per key, id = the key's public
 * id. Only the SHA-256 of the secret is stored. Lookups are cached per instance for at most
 * KEY_CACHE_SECONDS (≤ 60), which bounds how long a revocation takes to reach every instance.
 */
import { Timestamp, type Firestore } from "firebase-admin/firestore";
import { z } from "zod";
import { scopeSchema } from "../auth/scope.js";
import { TtlCache } from "./cache.js";

export const API_KEYS = "neurofire_api_keys";
/** Most keys one user may hold (revoked and expired ones included until they are deleted). */
export const MAX_KEYS_PER_USER = 100;

const timestamp = z.instanceof(Timestamp).transform((t) => t.toDate());

export const keyDocSchema = z.object({
  owner: z.string(),
  kind: z.enum(["key", "viewer"]),
  name: z.string(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  scope: scopeSchema,
  created: timestamp,
  expires: timestamp,
  revoked: timestamp.nullable().default(null),
  lastUsed: timestamp.nullable().default(null),
});
export type KeyDoc = z.output<typeof keyDocSchema>;

export interface NewKey {
  owner: string;
  kind: "key" | "viewer";
  name: string;
  hash: string;
  scope: z.infer<typeof scopeSchema>;
  created: Date;
  expires: Date;
}

export class KeyStore {
  private readonly cache: TtlCache<string, { doc: KeyDoc | null; fetched: number }>;
  /** When this instance last wrote lastUsed per key; one write a minute at most. */
  private readonly touched: TtlCache<string, true>;

  /** How long a looked-up key is trusted on this instance (≤ 60 s). */
  readonly ttlMs: number;

  constructor(
    private readonly db: Firestore,
    ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.ttlMs = Math.min(ttlMs, 60_000);
    this.cache = new TtlCache(this.ttlMs, 10_000, now);
    this.touched = new TtlCache(60_000, 10_000, now);
  }

  private col() {
    return this.db.collection(API_KEYS);
  }

  /** The key with this id, or null (unknown ids are cached too, so guessing costs no reads). */
  async get(id: string): Promise<KeyDoc | null> {
    return (await this.lookup(id)).doc;
  }

  /** As `get`, with when the answer was read from Firestore (ms), which bounds its staleness. */
  async lookup(id: string): Promise<{ doc: KeyDoc | null; fetched: number }> {
    const cached = this.cache.get(id);
    if (cached !== undefined) return cached;
    const fetched = this.now();
    const snap = await this.col().doc(id).get();
    const parsed = snap.exists ? keyDocSchema.safeParse(snap.data()) : undefined;
    const entry = { doc: parsed?.success ? parsed.data : null, fetched };
    this.cache.set(id, entry);
    return entry;
  }

  async create(id: string, key: NewKey): Promise<void> {
    await this.col()
      .doc(id)
      .create({
        ...key,
        created: Timestamp.fromDate(key.created),
        expires: Timestamp.fromDate(key.expires),
        revoked: null,
        lastUsed: null,
      });
  }

  async count(owner: string): Promise<number> {
    const snap = await this.col().where("owner", "==", owner).count().get();
    return snap.data().count;
  }

  /** The owner's keys, newest first, at most MAX_KEYS_PER_USER. */
  async list(owner: string): Promise<{ id: string; doc: KeyDoc }[]> {
    const snap = await this.col().where("owner", "==", owner).limit(MAX_KEYS_PER_USER).get();
    const out: { id: string; doc: KeyDoc }[] = [];
    for (const d of snap.docs) {
      const parsed = keyDocSchema.safeParse(d.data());
      if (parsed.success) out.push({ id: d.id, doc: parsed.data });
    }
    return out.sort((a, b) => b.doc.created.getTime() - a.doc.created.getTime());
  }

  /** Marks the key revoked; returns the document as it was, or null when there is none. */
  async revoke(id: string, at: Date): Promise<KeyDoc | null> {
    const ref = this.col().doc(id);
    const before = await this.db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      const parsed = snap.exists ? keyDocSchema.safeParse(snap.data()) : undefined;
      if (!parsed?.success) return null;
      if (parsed.data.revoked === null) tx.update(ref, { revoked: Timestamp.fromDate(at) });
      return parsed.data;
    });
    this.cache.delete(id);
    return before;
  }

  /** Records a use; at most one write per key per minute per instance, never awaited by callers. */
  touch(id: string): Promise<void> {
    if (this.touched.get(id)) return Promise.resolve();
    this.touched.set(id, true);
    return this.col()
      .doc(id)
      .update({ lastUsed: Timestamp.fromMillis(this.now()) })
      .then(() => undefined);
  }

  forget(): void {
    this.cache.clear();
  }
}
