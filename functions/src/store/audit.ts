/**
 * The append-only audit trail.
 *
 * - `neurofire_audit/{id}`: one entry per successful mutation; the id starts with the ISO time,
 *   so document-id order is time order and admins page it with an ordinary cursor.
 * - `neurofire_audit_feeds/{dataset}/changes/{seq}`: the same entry once per dataset it touched,
 *   numbered by a per-dataset counter (`neurofire_audit_feeds/{dataset}.seq`) taken in the same
 *   transaction. Seq n+1 cannot commit before seq n has (the counter read serialises them), so
 *   reading a feed in seq order after a cursor never skips or repeats an entry.
 *
 * Entries are only ever created (`create` fails on an existing id); nothing here updates or
 * deletes them, and firestore.rules deny every client access.
 */
import { randomBytes } from "node:crypto";
import { Timestamp, type Firestore } from "firebase-admin/firestore";
import { z } from "zod";
import { firestorePages, type PageReader } from "./pages.js";

export const AUDIT = "neurofire_audit";
export const AUDIT_FEEDS = "neurofire_audit_feeds";
const SEQ_WIDTH = 12;

export const auditEntrySchema = z.object({
  at: z.string(),
  actor: z.string(),
  keyId: z.string().nullable(),
  tokenKind: z.string().nullable(),
  action: z.string(),
  method: z.string(),
  path: z.string(),
  target: z.record(z.string(), z.string()),
  datasets: z.array(z.string()),
  status: z.number().int(),
  before: z.string().nullable(),
  after: z.string().nullable(),
  requestId: z.string().nullable(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

export const feedEntrySchema = auditEntrySchema.extend({ seq: z.number().int().positive(), id: z.string() });
export type FeedEntry = z.infer<typeof feedEntrySchema>;

export class AuditStore {
  constructor(private readonly db: Firestore) {}

  /** Appends `entry` to the trail and to the feed of each of its datasets, atomically. */
  async append(entry: AuditEntry): Promise<string> {
    const id = `${entry.at}_${randomBytes(6).toString("hex")}`;
    const trail = this.db.collection(AUDIT).doc(id);
    await this.db.runTransaction(async (tx) => {
      const feeds = entry.datasets.map((d) => this.db.collection(AUDIT_FEEDS).doc(d));
      const snaps = feeds.length > 0 ? await tx.getAll(...feeds) : [];
      tx.create(trail, { ...entry, stored: Timestamp.now() });
      snaps.forEach((snap, i) => {
        const current = z.object({ seq: z.number().int() }).safeParse(snap.data());
        const seq = (current.success ? current.data.seq : 0) + 1;
        tx.set(feeds[i]!, { seq });
        tx.create(feeds[i]!.collection("changes").doc(String(seq).padStart(SEQ_WIDTH, "0")), {
          ...entry,
          seq,
          id,
        });
      });
    });
    return id;
  }

  /** The whole trail, oldest first, by document id (= time). */
  trailPages(): PageReader {
    return firestorePages(this.db.collection(AUDIT), (id, data) => {
      const parsed = auditEntrySchema.safeParse(data);
      return { key: id, value: parsed.success ? { id, ...parsed.data } : { id, malformed: true } };
    });
  }

  /** Up to `limit` entries of `dataset`'s feed with seq greater than `since`. */
  async feed(dataset: string, since: number, limit: number): Promise<FeedEntry[]> {
    const snap = await this.db
      .collection(AUDIT_FEEDS)
      .doc(dataset)
      .collection("changes")
      .orderBy("__name__")
      .startAfter(String(since).padStart(SEQ_WIDTH, "0"))
      .limit(limit)
      .get();
    const out: FeedEntry[] = [];
    for (const doc of snap.docs) {
      const parsed = feedEntrySchema.safeParse(doc.data());
      if (parsed.success) out.push(parsed.data);
    }
    return out;
  }
}
