/** Helpers shared by the clio-family tests: direct Firestore access to assert what was stored. */
import { firestore } from "../../src/store/firebase.js";

/** Every document under the given collection paths (recursively), by path, for "nothing written" checks. */
export async function dump(...collections: string[]): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const walk = async (path: string): Promise<void> => {
    const refs = await firestore().collection(path).listDocuments();
    for (const ref of refs) {
      const snap = await ref.get();
      if (snap.exists) out[ref.path] = snap.data();
      for (const sub of await ref.listCollections()) await walk(sub.path);
    }
  };
  for (const c of collections) await walk(c);
  return out;
}

/** Writes documents given as {path: data}. */
export async function seedDocs(docs: Record<string, Record<string, unknown>>): Promise<void> {
  const batch = firestore().batch();
  for (const [path, data] of Object.entries(docs)) batch.set(firestore().doc(path), data);
  await batch.commit();
}
