/**
 * Free-form JSON that is stored as a Firestore document or map. Firestore refuses (with an
 * opaque 500-worthy error) nested arrays, empty field names, maps deeper than 20 levels and
 * reserved field names `__x__`; ids are limited to 1,500 bytes (UTF-8, not characters) and may
 * not be `.`, `..` or `__x__` (security review L12). Checking here answers 400 naming the problem.
 */
import { z } from "zod";

/** Firestore's maximum document id length, in UTF-8 bytes. */
export const FIRESTORE_MAX_ID_BYTES = 1500;
/** Firestore's maximum map nesting depth. */
export const FIRESTORE_MAX_DEPTH = 20;

const RESERVED = /^__.*__$/;

/**
 * What Firestore would refuse in `value`, or undefined. Iterative, so no nesting depth can
 * overflow the stack before the depth limit is reported. `__proto__` is a reserved name too, so
 * an object carrying one never reaches a merge.
 */
export function firestoreProblem(value: unknown): string | undefined {
  const stack: { v: unknown; depth: number; inArray: boolean }[] = [{ v: value, depth: 0, inArray: false }];
  while (stack.length > 0) {
    const { v, depth, inArray } = stack.pop()!;
    if (depth > FIRESTORE_MAX_DEPTH) return `is nested more than ${FIRESTORE_MAX_DEPTH} levels deep`;
    if (Array.isArray(v)) {
      if (inArray) return "contains an array inside an array, which Firestore cannot store";
      for (const item of v) stack.push({ v: item, depth: depth + 1, inArray: true });
    } else if (v !== null && typeof v === "object") {
      for (const key of Object.keys(v)) {
        if (key === "") return "has an empty field name";
        if (RESERVED.test(key))
          return `has the reserved field name '${key.slice(0, 64)}' (__…__ names are Firestore's)`;
        if (Buffer.byteLength(key, "utf8") > FIRESTORE_MAX_ID_BYTES)
          return `has a field name longer than ${FIRESTORE_MAX_ID_BYTES} bytes`;
        stack.push({ v: (v as Record<string, unknown>)[key], depth: depth + 1, inArray: false });
      }
    }
  }
  return undefined;
}

/** A JSON object that Firestore can store as a document or map. */
export function storable(what: string) {
  return z
    .record(z.string(), z.unknown(), { error: `${what} must be a JSON object` })
    .superRefine((value, ctx) => {
      const problem = firestoreProblem(value);
      if (problem) ctx.addIssue({ code: "custom", message: `${what} ${problem}` });
    });
}

/** Whether `id` can be a Firestore document id: no `/`, not `.`/`..`/`__x__`, at most 1,500 bytes. */
export function isFirestoreId(id: string): boolean {
  return (
    id.length > 0 &&
    !id.includes("/") &&
    id !== "." &&
    id !== ".." &&
    !RESERVED.test(id) &&
    Buffer.byteLength(id, "utf8") <= FIRESTORE_MAX_ID_BYTES
  );
}
