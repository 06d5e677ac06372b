import type { Firestore } from "firebase-admin/firestore";

import {
  CATALOG_COLLECTIONS,
  catalogDocId,
  catalogRecordSchema,
  type CatalogRecord,
  type CatalogSource,
} from "../../src/schemas/catalog.js";
import { hippocampomePublishedUrls } from "../../loopback/upstream.js";
import type { HarvestOptions } from "../../src/services/harvest.js";

/** Politeness shrunk so fault tests finish quickly; retries and timeouts still happen for real. */
export const FAST_POLICY = {
  concurrency: 4,
  minIntervalMs: 0,
  timeoutMs: 1500,
  maxAttempts: 4,
  backoffBaseMs: 5,
  backoffMaxMs: 40,
  maxRetryAfterMs: 5000,
};

export function fastOptions(baseUrl: string, extra: Partial<HarvestOptions> = {}): HarvestOptions {
  // The published Hippocampome tables live on GitHub; the loopback serves them at the same paths.
  return {
    baseUrl,
    ...hippocampomePublishedUrls(baseUrl),
    hostPolicy: FAST_POLICY,
    ...extra,
  };
}

export async function recordsOf(db: Firestore, source: CatalogSource): Promise<CatalogRecord[]> {
  const snap = await db
    .collection(CATALOG_COLLECTIONS.records)
    .where("source", "==", source)
    .limit(1000)
    .get();
  return snap.docs.map((d) => d.data() as CatalogRecord);
}

export async function recordDoc(db: Firestore, id: string) {
  return db.collection(CATALOG_COLLECTIONS.records).doc(catalogDocId(id)).get();
}

/** A clock the test moves; the orchestrator reads it for budgets, leases and timestamps. */
export function manualClock(start = Date.UTC(2026, 0, 1)) {
  let t = start;
  return {
    now: () => new Date(t),
    advance(ms: number) {
      t += ms;
    },
  };
}

const ignore = () => undefined;
export const quietLog = { info: ignore, warn: ignore, error: ignore };

/** A stored record, parsed (not cast) against its schema. */
export async function record(db: Firestore, id: string): Promise<CatalogRecord> {
  return catalogRecordSchema.parse((await recordDoc(db, id)).data());
}
