/**
 * Record writing: upserts records by content hash with BulkWriter; unchanged records are not
 * written at all, so a rerun rewrites nothing and Firestore's updateTime stays.
 */
import { createHash } from "node:crypto";

import type { DocumentReference, Firestore } from "firebase-admin/firestore";

import { CATALOG_COLLECTIONS, catalogDocId, type CatalogContent } from "../../schemas/catalog.js";
import type { KnownRecord } from "../../sources/types.js";

const READ_CHUNK = 300;

export const records = (db: Firestore) => db.collection(CATALOG_COLLECTIONS.records);

/** Canonical JSON (sorted keys) so equal content always hashes equally. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function contentHash(content: CatalogContent): string {
  return createHash("sha256").update(canonical(content)).digest("hex");
}

export interface WriteCounts {
  created: number;
  updated: number;
  unchanged: number;
}

export async function getAllChunked(db: Firestore, refs: DocumentReference[], fields: string[]) {
  const snaps = [];
  for (let i = 0; i < refs.length; i += READ_CHUNK) {
    const chunk = refs.slice(i, i + READ_CHUNK);
    if (chunk.length) snaps.push(...(await db.getAll(...chunk, { fieldMask: fields })));
  }
  return snaps;
}

/** Settles every BulkWriter write and rethrows the first failure: no unobserved rejections. */
async function settle(writes: Promise<unknown>[], close: Promise<void>): Promise<void> {
  const results = await Promise.allSettled([...writes, close]);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}

/**
 * The catalog's write path: upserts records by content hash with BulkWriter. Unchanged records
 * are not written at all.
 */
export async function writeRecords(
  db: Firestore,
  contents: CatalogContent[],
  runId: string,
  at: string,
): Promise<WriteCounts> {
  const counts: WriteCounts = { created: 0, updated: 0, unchanged: 0 };
  const byId = new Map(contents.map((c) => [c.id, c]));
  const items = [...byId.values()].map((content) => ({
    content,
    hash: contentHash(content),
    ref: records(db).doc(catalogDocId(content.id)),
  }));
  const snaps = await getAllChunked(
    db,
    items.map((i) => i.ref),
    ["contentHash", "withdrawn"],
  );
  const writer = db.bulkWriter();
  const writes: Promise<unknown>[] = [];
  items.forEach((item, i) => {
    const snap = snaps[i]!;
    if (snap.exists && snap.get("contentHash") === item.hash && snap.get("withdrawn") === false) {
      counts.unchanged++;
      return;
    }
    if (snap.exists) counts.updated++;
    else counts.created++;
    writes.push(
      writer.set(item.ref, {
        ...item.content,
        harvestedAt: at,
        contentHash: item.hash,
        lastSeenRun: runId,
        withdrawn: false,
        withdrawnAt: null,
      }),
    );
  });
  await settle(writes, writer.close());
  return counts;
}

export async function knownRecords(db: Firestore, ids: string[]): Promise<Map<string, KnownRecord>> {
  const snaps = await getAllChunked(
    db,
    ids.map((id) => records(db).doc(catalogDocId(id))),
    ["sourceModified", "withdrawn"],
  );
  const out = new Map<string, KnownRecord>();
  snaps.forEach((snap, i) => {
    if (!snap.exists) return;
    out.set(ids[i]!, {
      sourceModified: (snap.get("sourceModified") as string | null) ?? null,
      withdrawn: snap.get("withdrawn") === true,
    });
  });
  return out;
}
