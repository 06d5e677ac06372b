/** What the audit tests share: the trail as stored, and an atlas point to verify. */
import { ATLAS_PATH } from "../../src/services/atlas.js";
import { AUDIT, type AuditEntry } from "../../src/store/audit.js";
import { firestore } from "../../src/store/firebase.js";
import { PERSONAS, PRIVATE_DS } from "../helpers/server.js";

/** The stored audit entries (of `action`, if given), oldest first. */
export async function auditEntries(action?: string): Promise<AuditEntry[]> {
  const snap = await firestore().collection(AUDIT).orderBy("__name__").get();
  const all = snap.docs.map((d) => d.data() as AuditEntry);
  return action === undefined ? all : all.filter((e) => e.action === action);
}

/** An unverified atlas point `id` of the reader's on PRIVATE_DS, for /v2/atlas-verify/{id}. */
export async function seedAtlasPoint(id: string): Promise<void> {
  await firestore()
    .doc(`${ATLAS_PATH}/${id}`)
    .set({
      title: id,
      timestamp: 1,
      location: [1, 2, 3],
      locationkey: "1_2_3",
      id,
      user: PERSONAS.reader,
      dataset: PRIVATE_DS,
      verified: false,
    });
}
