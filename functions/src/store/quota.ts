/**
 * Daily quotas of costly calls, shared by every instance: one counter document per principal,
 * class and UTC day in `neurofire_quota`, taken in a transaction so concurrent instances never
 * hand out more than the limit. `expireAt` lets a Firestore TTL policy delete old days.
 */
import { Timestamp, type Firestore } from "firebase-admin/firestore";
import { createHash } from "node:crypto";
import { z } from "zod";

export const QUOTA = "neurofire_quota";
const counterSchema = z.object({ count: z.number().int().nonnegative() });

export interface QuotaResult {
  allowed: boolean;
  /** Calls left today after this one (0 when refused). */
  remaining: number;
  /** Seconds until the quota resets (next UTC midnight). */
  resetSeconds: number;
}

export function utcDay(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 10);
}

function secondsToMidnight(nowMs: number): number {
  const next = new Date(nowMs);
  next.setUTCHours(24, 0, 0, 0);
  return Math.max(1, Math.ceil((next.getTime() - nowMs) / 1000));
}

export class QuotaStore {
  constructor(private readonly db: Firestore) {}

  /** Document id: hashed, so any principal string (email, ip) is a valid, fixed-length id. */
  static docId(principal: string, cls: string, day: string): string {
    const digest = createHash("sha256").update(principal).digest("hex").slice(0, 32);
    return `${day}_${cls}_${digest}`;
  }

  /** Takes one call of `cls` for `principal` today, unless `limit` are already taken. */
  async take(principal: string, cls: string, limit: number, nowMs: number): Promise<QuotaResult> {
    const day = utcDay(nowMs);
    const ref = this.db.collection(QUOTA).doc(QuotaStore.docId(principal, cls, day));
    const resetSeconds = secondsToMidnight(nowMs);
    const { allowed, count } = await this.db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      const parsed = counterSchema.safeParse(snap.data() ?? { count: 0 });
      const used = parsed.success ? parsed.data.count : 0;
      if (used >= limit) return { allowed: false, count: used };
      tx.set(ref, {
        count: used + 1,
        principal,
        class: cls,
        day,
        expireAt: Timestamp.fromMillis(nowMs + 2 * 86_400_000),
      });
      return { allowed: true, count: used + 1 };
    });
    return { allowed, remaining: Math.max(0, limit - count), resetSeconds };
  }
}
