/**
 * Per-email API-token generation, for revocation. Every API token carries the generation it was
 * issued under (`gen`, absent = 0 for tokens clio-store issued); revoking bumps the generation,
 * so every token issued before is refused, and tokens issued after work at once.
 */
import { FieldValue, type Firestore } from "firebase-admin/firestore";
import { z } from "zod";
import { TtlCache } from "./cache.js";

export const TOKEN_STATE = "neurofire_token_state";

const stateSchema = z.object({ generation: z.number().int().nonnegative().default(0) });

export class TokenStateStore {
  private readonly cache: TtlCache<string, number>;
  /** Security L10: seconds of the last revocation, per email. */
  private readonly revokedCache: TtlCache<string, number>;

  constructor(
    private readonly db: Firestore,
    ttlMs: number,
    now: () => number = Date.now,
  ) {
    this.cache = new TtlCache(ttlMs, 10_000, now);
    this.revokedCache = new TtlCache(ttlMs, 10_000, now);
  }

  async generation(email: string): Promise<number> {
    const cached = this.cache.get(email);
    if (cached !== undefined) return cached;
    const snap = await this.db.collection(TOKEN_STATE).doc(email).get();
    const parsed = stateSchema.safeParse(snap.data() ?? {});
    const generation = parsed.success ? parsed.data.generation : 0;
    this.cache.set(email, generation);
    return generation;
  }

  forget(): void {
    this.cache.clear();
    this.revokedCache.clear();
  }

  // ---- security L10: when the last revocation happened, for Google/Firebase ID tokens ----

  /** Seconds since the epoch of the last revocation of `email` (0 when never revoked). */
  async revokedAtSeconds(email: string): Promise<number> {
    const cached = this.revokedCache.get(email);
    if (cached !== undefined) return cached;
    const snap = await this.db.collection(TOKEN_STATE).doc(email).get();
    const at: unknown = snap.get("revokedAt");
    const seconds =
      at && typeof (at as { toMillis?: unknown }).toMillis === "function"
        ? Math.floor((at as { toMillis(): number }).toMillis() / 1000)
        : 0;
    this.revokedCache.set(email, seconds);
    return seconds;
  }

  /** Invalidates every API token of `email` issued so far; returns the new generation. */
  async revoke(email: string, revokedBy: string, now: Date): Promise<number> {
    const ref = this.db.collection(TOKEN_STATE).doc(email);
    await ref.set({ generation: FieldValue.increment(1), revokedAt: now, revokedBy }, { merge: true });
    this.cache.delete(email);
    this.revokedCache.delete(email);
    return this.generation(email);
  }
}
