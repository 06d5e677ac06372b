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

  constructor(
    private readonly db: Firestore,
    ttlMs: number,
    now: () => number = Date.now,
  ) {
    this.cache = new TtlCache(ttlMs, 10_000, now);
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
  }

  /** Invalidates every API token of `email` issued so far; returns the new generation. */
  async revoke(email: string, revokedBy: string, now: Date): Promise<number> {
    const ref = this.db.collection(TOKEN_STATE).doc(email);
    await ref.set({ generation: FieldValue.increment(1), revokedAt: now, revokedBy }, { merge: true });
    this.cache.delete(email);
    return this.generation(email);
  }
}
