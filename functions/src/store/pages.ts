/**
 * Lists read page by page: a reader returns up to `limit` items strictly after a position, so the
 * HTTP layer can page (one read) or stream (read after read) with bounded memory.
 *
 * Pages are bounded in bytes as well as in items (security review M1): a document may hold up to
 * 1 MiB, so 500 of them would be 500 MiB on an instance that serves 80 requests at once. A reader
 * given `maxBytes` stops once the items it holds reach that many bytes (always returning at least
 * one item, so a list always advances) and, when more items follow, marks the page as cut short
 * (`wasCut`), so the caller pages on although fewer than `limit` items came back.
 */
import { FieldPath, type Query, type QueryDocumentSnapshot } from "firebase-admin/firestore";
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

/**
 * Reads up to `limit` items strictly after `after` (undefined = from the start), holding at most
 * about `maxBytes` of them (readers that cannot tell sizes may ignore it).
 */
export type PageReader = (after: string | undefined, limit: number, maxBytes?: number) => Promise<ListItem[]>;

/** The default byte budget of one page or one streamed read (LIST_MAX_BYTES). */
export const DEFAULT_PAGE_MAX_BYTES = 8 * 1024 * 1024;

const cutPages = new WeakSet<ListItem[]>();

/** Marks a page that stopped at its byte budget before `limit` items. */
export function markCut(items: ListItem[]): ListItem[] {
  cutPages.add(items);
  return items;
}

/** Whether `items` stopped at the byte budget: more items may follow. */
export function wasCut(items: ListItem[]): boolean {
  return cutPages.has(items);
}

/**
 * About how many bytes `value` takes (Firestore's size formula: strings by UTF-8 length, numbers
 * 8). Iterative, so no nesting depth can overflow the stack.
 */
export function approxBytes(value: unknown): number {
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") total += Buffer.byteLength(v, "utf8") + 1;
    else if (Array.isArray(v)) for (const e of v) stack.push(e);
    else if (v !== null && typeof v === "object" && !(v instanceof Date)) {
      if (Buffer.isBuffer(v) || v instanceof Uint8Array) total += v.byteLength;
      else
        for (const [k, e] of Object.entries(v)) {
          total += Buffer.byteLength(k, "utf8") + 1;
          stack.push(e);
        }
    } else total += 8;
  }
  return total;
}

/** Pages of a Firestore query in document-id order; `toItem` maps a document to a list item. */
export function firestorePages(
  query: Query,
  toItem: (id: string, data: FirebaseFirestore.DocumentData) => { key: string; value: unknown },
): PageReader {
  return async (after, limit, maxBytes = DEFAULT_PAGE_MAX_BYTES) => {
    // A document id never holds "/"; one in a position means the cursor was forged.
    if (after?.includes("/")) throw invalidCursor();
    let q = query.orderBy(FieldPath.documentId()).limit(limit);
    if (after !== undefined) q = q.startAfter(after);
    // Streamed, not get(): documents are counted as they arrive and the query is abandoned once
    // the budget is spent, so a page of huge documents never sits in memory whole.
    const items: ListItem[] = [];
    let bytes = 0;
    let cut = false;
    // Leaving the loop early destroys the stream, which cancels the rest of the query.
    // A document arriving after the budget is spent is dropped, and says that more follow.
    for await (const doc of q.stream() as AsyncIterable<QueryDocumentSnapshot>) {
      if (bytes >= maxBytes) {
        cut = true;
        break;
      }
      const data = doc.data();
      items.push({ ...toItem(doc.id, data), position: doc.id });
      bytes += approxBytes(data) + doc.id.length;
    }
    return cut ? markCut(items) : items;
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
