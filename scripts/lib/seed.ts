/**
 * Loads `emulator-data/firestore/*.json` into Firestore. Each file maps a document path to its
 * data; `{"__timestamp": "<ISO>"}` values become Firestore timestamps. Writing is idempotent, so
 * a re-run resets the seeded documents without touching anything else.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { Timestamp, type Firestore } from "firebase-admin/firestore";

export const SEED_DIR = path.join(import.meta.dirname, "..", "..", "emulator-data", "firestore");

function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0]![0] === "__timestamp")
      return Timestamp.fromDate(new Date(String(entries[0]![1])));
    return Object.fromEntries(entries.map(([k, v]) => [k, revive(v)]));
  }
  return value;
}

export async function loadSeed(db: Firestore, dir = SEED_DIR): Promise<number> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".json")).sort();
  const writer = db.bulkWriter();
  let count = 0;
  for (const file of files) {
    const docs = JSON.parse(await readFile(path.join(dir, file), "utf8")) as Record<
      string,
      Record<string, unknown>
    >;
    for (const [docPath, data] of Object.entries(docs)) {
      void writer.set(db.doc(docPath), revive(data) as Record<string, unknown>);
      count += 1;
    }
  }
  await writer.close();
  return count;
}
