/**
 * Rate limits per principal and endpoint class (docs/rate-limits.md).
 *
 * - read, write, anonymous: a token bucket per principal and class in this instance's memory,
 *   refilled continuously to RATE_LIMITS per minute. Costs no I/O; it protects the instance.
 * - costly (transfer, likelocation, bulk signing, catalog download, neuPrint): a daily quota
 *   counted in Firestore (store/quota.ts), so it holds across every instance. A principal found
 *   exhausted is remembered here until the day ends, so refused retries cost no reads.
 *
 * Every answer carries RateLimit-Limit / -Remaining / -Reset and RateLimit-Policy; a refusal is
 * a 429 with Retry-After.
 */
import type { Response } from "express";
import type { Config } from "../config.js";
import { ApiError } from "../errors.js";
import { TtlCache } from "../store/cache.js";
import type { QuotaStore } from "../store/quota.js";

export type RateClass = "read" | "write" | "costly";
type BucketClass = "read" | "write" | "anonymous";

interface Bucket {
  tokens: number;
  updated: number;
}

export const RATE_LIMIT_HEADERS = [
  "RateLimit-Limit",
  "RateLimit-Remaining",
  "RateLimit-Reset",
  "Retry-After",
];

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly exhausted: TtlCache<string, true>;
  private readonly maxBuckets = 50_000;

  constructor(
    private readonly limits: Config["rateLimits"],
    private readonly quota: QuotaStore,
    private readonly now: () => number = Date.now,
  ) {
    this.exhausted = new TtlCache(86_400_000, 50_000, now);
  }

  /**
   * Takes one request of `cls` for `principal` (an email, or `ip:<addr>` when anonymous), sets
   * the RateLimit headers on `res`, and throws 429 when over the limit. A limit of 0 disables it.
   */
  async take(principal: string, anonymous: boolean, cls: RateClass, res: Response): Promise<void> {
    const bucketClass: BucketClass = anonymous ? "anonymous" : cls === "write" ? "write" : "read";
    this.takeBucket(`${bucketClass}|${principal}`, this.limits[bucketClass], res);
    if (cls === "costly") await this.takeQuota(principal, res);
  }

  private takeBucket(key: string, perMinute: number, res: Response): void {
    if (perMinute <= 0) return;
    const now = this.now();
    const rate = perMinute / 60_000;
    let bucket = this.buckets.get(key);
    if (bucket) {
      bucket.tokens = Math.min(perMinute, bucket.tokens + (now - bucket.updated) * rate);
      bucket.updated = now;
      // Re-insert so the Map's order is least recently used first, for eviction below.
      this.buckets.delete(key);
    } else {
      bucket = { tokens: perMinute, updated: now };
    }
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxBuckets) {
      const oldest = this.buckets.keys().next();
      if (!oldest.done) this.buckets.delete(oldest.value);
    }
    if (bucket.tokens < 1) {
      const wait = Math.max(1, Math.ceil((1 - bucket.tokens) / rate / 1000));
      setHeaders(res, perMinute, 0, wait, `${perMinute};w=60`);
      throw refuse(res, wait, `Rate limit of ${perMinute} requests per minute reached`);
    }
    bucket.tokens -= 1;
    const reset = Math.ceil((perMinute - bucket.tokens) / rate / 1000);
    setHeaders(res, perMinute, Math.floor(bucket.tokens), reset, `${perMinute};w=60`);
  }

  private async takeQuota(principal: string, res: Response): Promise<void> {
    const limit = this.limits.costly;
    if (limit <= 0) return;
    const now = this.now();
    const cacheKey = `${new Date(now).toISOString().slice(0, 10)}|${principal}`;
    const policy = `${limit};w=86400`;
    if (this.exhausted.get(cacheKey)) {
      const wait = secondsToMidnight(now);
      setHeaders(res, limit, 0, wait, policy);
      throw refuse(res, wait, `Daily quota of ${limit} costly requests reached`);
    }
    const result = await this.quota.take(principal, "costly", limit, now);
    setHeaders(res, limit, result.remaining, result.resetSeconds, policy);
    if (!result.allowed) {
      this.exhausted.set(cacheKey, true, now + result.resetSeconds * 1000);
      throw refuse(res, result.resetSeconds, `Daily quota of ${limit} costly requests reached`);
    }
  }
}

function secondsToMidnight(nowMs: number): number {
  const next = new Date(nowMs);
  next.setUTCHours(24, 0, 0, 0);
  return Math.max(1, Math.ceil((next.getTime() - nowMs) / 1000));
}

function setHeaders(res: Response, limit: number, remaining: number, reset: number, policy: string): void {
  res.setHeader("RateLimit-Limit", String(limit));
  res.setHeader("RateLimit-Remaining", String(remaining));
  res.setHeader("RateLimit-Reset", String(reset));
  res.setHeader("RateLimit-Policy", policy);
}

/** A 429; Retry-After goes on `res` now, since the error handler keeps headers already set. */
function refuse(res: Response, retryAfter: number, message: string): ApiError {
  res.setHeader("Retry-After", String(retryAfter));
  return new ApiError("resource_exhausted", `${message}; retry after ${retryAfter} s`);
}
