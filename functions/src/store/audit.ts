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
/** Writes per group commit (Firestore allows 500): 1 per entry, 2 per dataset and entry at most. */
const MAX_WRITES = 450;

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
  /** Orders this instance's entries written within the same millisecond. */
  private written = 0;
  /** Entries waiting for the next group commit, and whether one is running. */
  private pending: { entry: AuditEntry; done: (err?: unknown) => void }[] = [];
  private flushing = false;

  constructor(private readonly db: Firestore) {}

  /**
   * Appends `entry` to the trail and to the feed of each of its datasets, atomically. Entries
   * that arrive while a commit is running go together in the next one (group commit), so one
   * instance never contends with itself for a feed's counter.
   */
  append(entry: AuditEntry): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ entry, done: (err) => (err === undefined ? resolve() : reject(err as Error)) });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.pending.length > 0) {
      let writes = 0;
      let n = 0;
      while (n < this.pending.length) {
        writes += 1 + 2 * this.pending[n]!.entry.datasets.length;
        if (n > 0 && writes > MAX_WRITES) break;
        n += 1;
      }
      const batch = this.pending.splice(0, n);
      try {
        await this.commit(batch.map((p) => p.entry));
        for (const p of batch) p.done();
      } catch (err) {
        for (const p of batch) p.done(err ?? new Error("audit commit failed"));
      }
    }
    this.flushing = false;
  }

  private async commit(entries: AuditEntry[]): Promise<void> {
    const ids = entries.map((e) => {
      this.written = (this.written + 1) % 1e9;
      return `${e.at}_${String(this.written).padStart(9, "0")}_${randomBytes(4).toString("hex")}`;
    });
    const datasets = [...new Set(entries.flatMap((e) => e.datasets))];
    const feeds = datasets.map((d) => this.db.collection(AUDIT_FEEDS).doc(d));
    await this.db.runTransaction(
      async (tx) => {
        const snaps = feeds.length > 0 ? await tx.getAll(...feeds) : [];
        const seqs = snaps.map((snap) => {
          const current = z.object({ seq: z.number().int() }).safeParse(snap.data());
          return current.success ? current.data.seq : 0;
        });
        entries.forEach((entry, i) => {
          tx.create(this.db.collection(AUDIT).doc(ids[i]!), { ...entry, stored: Timestamp.now() });
          for (const dataset of entry.datasets) {
            const k = datasets.indexOf(dataset);
            const seq = ++seqs[k]!;
            tx.create(feeds[k]!.collection("changes").doc(String(seq).padStart(SEQ_WIDTH, "0")), {
              ...entry,
              seq,
              id: ids[i],
            });
          }
        });
        feeds.forEach((ref, k) => tx.set(ref, { seq: seqs[k] }));
      },
      { maxAttempts: 20 },
    );
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
