/**
 * Firestore refuses documents over 1 MiB with an opaque error; sizes are computed with its
 * documented formula so writes can be refused up front with 413 and a message.
 */
import type { DocumentData, DocumentReference } from "firebase-admin/firestore";
import { ApiError } from "../errors.js";

/** Firestore's maximum document size. */
export const FIRESTORE_MAX_DOCUMENT_BYTES = 1_048_576;

function stringBytes(s: string): number {
  return Buffer.byteLength(s, "utf8") + 1;
}

/** The storage size of a field value, per Firestore's documented size calculation. */
function valueBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === "boolean") return 1;
  if (typeof value === "number") return 8;
  if (typeof value === "string") return stringBytes(value);
  if (Array.isArray(value)) return value.reduce<number>((sum, v) => sum + valueBytes(v), 0);
  if (typeof value === "object") {
    return Object.entries(value).reduce((sum, [k, v]) => sum + stringBytes(k) + valueBytes(v), 0);
  }
  return 8;
}

/** The storage size Firestore will count for `data` at `ref` (name + fields + 32 bytes). */
export function firestoreDocumentBytes(ref: DocumentReference, data: DocumentData): number {
  const name = ref.path.split("/").reduce((sum, segment) => sum + stringBytes(segment), 16);
  return name + valueBytes(data) + 32;
}

/** Throws 413 when `data` would not fit in one Firestore document at `ref`. */
export function assertFitsDocument(ref: DocumentReference, data: DocumentData, what: string): void {
  const bytes = firestoreDocumentBytes(ref, data);
  if (bytes > FIRESTORE_MAX_DOCUMENT_BYTES) {
    throw new ApiError(
      "payload_too_large",
      `${what} needs ${bytes} bytes of storage; a Firestore document holds at most ${FIRESTORE_MAX_DOCUMENT_BYTES}`,
    );
  }
}
