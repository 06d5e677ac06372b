/**
 * Lists read page by page: a reader returns up to `limit` items strictly after a position, so the
 * HTTP layer can page (one read) or stream (read after read) with bounded memory.
 */
import { FieldPath, type Query } from "firebase-admin/firestore";
import { badRequest } from "../errors.js";

/** A cursor that did not come from us, or no longer decodes. */
export function invalidCursor() {
  return badRequest("Invalid cursor: pass the X-Next-Cursor value of the previous page unchanged");
}

export interface ListItem {
  /** The key in an object-shaped list (ignored for arrays). */
  key: string;
  value: unknown;
  /** Where the next page starts after this item. */
  position: string;
}

/** Reads up to `limit` items strictly after `after` (undefined = from the start). */
export type PageReader = (after: string | undefined, limit: number) => Promise<ListItem[]>;

/** Pages of a Firestore query in document-id order; `toItem` maps a document to a list item. */
export function firestorePages(
  query: Query,
  toItem: (id: string, data: FirebaseFirestore.DocumentData) => { key: string; value: unknown },
): PageReader {
  return async (after, limit) => {
    // A document id never holds "/"; one in a position means the cursor was forged.
    if (after?.includes("/")) throw invalidCursor();
    let q = query.orderBy(FieldPath.documentId()).limit(limit);
    if (after !== undefined) q = q.startAfter(after);
    const snap = await q.get();
    return snap.docs.map((doc) => ({ ...toItem(doc.id, doc.data()), position: doc.id }));
  };
}

/** Pages of an in-memory, already bounded list (e.g. the dataset snapshot). */
export function arrayPages(items: { key: string; value: unknown }[]): PageReader {
  const sorted = [...items].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return (after, limit) => {
    const start = after === undefined ? 0 : sorted.findIndex((i) => i.key > after);
    const slice = start < 0 ? [] : sorted.slice(start, start + limit);
    return Promise.resolve(slice.map((i) => ({ ...i, position: i.key })));
  };
}
