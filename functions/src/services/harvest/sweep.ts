/**
 * The seen-set and the sweep of mark-and-sweep: every step stores the ids it saw under the run;
 * only a full run that finished without losing anything sweeps, marking the source's records it
 * did not see as withdrawn, one page per checkpoint.
 */
import { FieldPath, type Firestore } from "firebase-admin/firestore";

import { CATALOG_COLLECTIONS, type CatalogSource, type RunRecord } from "../../schemas/catalog.js";
import { records } from "./write.js";

const SWEEP_PAGE = 500;
const SEEN_DOC_IDS = 2000;

const seenCol = (db: Firestore, runId: string) =>
  db.collection(CATALOG_COLLECTIONS.runs).doc(runId).collection(CATALOG_COLLECTIONS.seen);

export async function writeSeen(db: Firestore, runId: string, step: number, ids: string[]): Promise<void> {
  const batch = db.batch();
  for (let i = 0, part = 0; i < ids.length || part === 0; i += SEEN_DOC_IDS, part++) {
    const key = `${String(step).padStart(6, "0")}-${part}`;
    batch.set(seenCol(db, runId).doc(key), { step, ids: ids.slice(i, i + SEEN_DOC_IDS) });
  }
  await batch.commit();
}

export async function readSeen(db: Firestore, runId: string): Promise<Set<string>> {
  const out = new Set<string>();
  let after: string | undefined;
  for (;;) {
    let query = seenCol(db, runId).orderBy(FieldPath.documentId()).limit(200);
    if (after) query = query.startAfter(after);
    const snap = await query.get();
    for (const doc of snap.docs) for (const id of doc.get("ids") as string[]) out.add(id);
    if (snap.size < 200) return out;
    after = snap.docs[snap.size - 1]!.id;
  }
}

export async function deleteSeen(db: Firestore, runId: string): Promise<void> {
  for (;;) {
    const snap = await seenCol(db, runId).limit(400).get();
    if (snap.empty) return;
    const batch = db.batch();
    for (const doc of snap.docs) batch.delete(doc.ref);
    await batch.commit();
  }
}

/** One page of the sweep: current records of the source that the run did not see are withdrawn. */
export async function sweepPage(
  db: Firestore,
  source: CatalogSource,
  seen: Set<string>,
  run: RunRecord,
  at: string,
): Promise<{ withdrawn: number; last: string | null }> {
  let query = records(db)
    .where("source", "==", source)
    .where("withdrawn", "==", false)
    .orderBy(FieldPath.documentId())
    .select("id")
    .limit(SWEEP_PAGE);
  if (run.checkpoint.sweepAfter) query = query.startAfter(run.checkpoint.sweepAfter);
  const snap = await query.get();
  const batch = db.batch();
  let withdrawn = 0;
  for (const doc of snap.docs) {
    if (seen.has(doc.get("id") as string)) continue;
    batch.update(doc.ref, { withdrawn: true, withdrawnAt: at, harvestedAt: at, lastSeenRun: run.id });
    withdrawn++;
  }
  if (withdrawn) await batch.commit();
  return { withdrawn, last: snap.size < SWEEP_PAGE ? null : snap.docs[snap.size - 1]!.id };
}
