/** Catalog records by id, read in bounded chunks and parsed. */
import type { Firestore } from "firebase-admin/firestore";
import { notFound } from "../../errors.js";
import {
  CATALOG_COLLECTIONS,
  catalogDocId,
  catalogRecordSchema,
  type CatalogRecord,
} from "../../schemas/catalog.js";

/** Ids per `getAll`: one round trip each, bounded in documents. */
const GET_ALL_CHUNK = 300;

/** Records by catalog id (absent ids are left out). */
export async function readRecords(db: Firestore, ids: string[]): Promise<Map<string, CatalogRecord>> {
  const out = new Map<string, CatalogRecord>();
  const col = db.collection(CATALOG_COLLECTIONS.records);
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += GET_ALL_CHUNK) {
    const refs = unique.slice(i, i + GET_ALL_CHUNK).map((id) => col.doc(catalogDocId(id)));
    if (!refs.length) continue;
    for (const snap of await db.getAll(...refs)) {
      if (snap.exists) {
        const r = catalogRecordSchema.parse(snap.data());
        out.set(r.id, r);
      }
    }
  }
  return out;
}

export async function getRecord(db: Firestore, id: string): Promise<CatalogRecord> {
  const record = (await readRecords(db, [id])).get(id);
  if (!record) throw notFound(`No catalog record ${JSON.stringify(id)}`);
  return record;
}
