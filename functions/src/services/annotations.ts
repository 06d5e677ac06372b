/**
 * Personal annotations (v2): one collection per user per dataset,
 * `clio_annotations_v2/{dataset}/{email}/{key}`, as clio-store laid them out.
 *
 * Unlike clio-store, a posted list writes every item (clio's list POST committed the first and
 * then failed), and a list is all or nothing: up to 500 documents go in one atomic commit; a
 * longer list is committed 500 at a time, and if a later chunk fails the earlier ones are put
 * back as they were.
 */
import {
  FieldPath,
  type CollectionReference,
  type DocumentReference,
  type Firestore,
  type QueryDocumentSnapshot,
} from "firebase-admin/firestore";
import { z } from "zod";
import { isAdmin, ownerWritePermission, readableGroups } from "../auth/permissions.js";
import { ApiError, badRequest, forbidden } from "../errors.js";
import type { Root } from "./root.js";
import {
  approxBytes,
  DEFAULT_PAGE_MAX_BYTES,
  invalidCursor,
  markCut,
  wasCut,
  type ListItem,
  type PageReader,
} from "../store/pages.js";
import type { Caller } from "../auth/caller.js";
import { annotationKey, type Annotation } from "../schemas/annotations.js";
import { FIRESTORE_MAX_DOCUMENT_BYTES as MAX_DOCUMENT_BYTES } from "../store/document-size.js";
import { CapCounts, overCap } from "../store/caps.js";
import { provide } from "./root.js";

/** What this service needs of the composition root. */
type Needs = Pick<Root, "config" | "db" | "get" | "log" | "now" | "users">;

export const ANNOTATIONS_V2 = "clio_annotations_v2";
/** This instance's recent per-user counts behind USER_STORAGE_CAPS (store/caps.ts). */
export const capCounts = provide("cap-counts", () => new CapCounts());
/** Firestore commits (batches and transactions) take at most 500 writes. */
export const WRITES_PER_COMMIT = 500;

type Doc = Record<string, unknown>;

const positionSchema = z.tuple([z.string(), z.string().regex(/^[^/]*$/)]);

/** A cursor position is `[owner, key]` as JSON; anything else came from outside and is refused. */
function parsePosition(after: string): [string, string] {
  try {
    return positionSchema.parse(JSON.parse(after));
  } catch {
    throw invalidCursor();
  }
}

export function userAnnotations(db: Firestore, dataset: string, owner: string) {
  return db.collection(ANNOTATIONS_V2).doc(dataset).collection(owner);
}

export interface ReadRequest {
  groups?: string[] | undefined;
  user?: string | undefined;
}

/**
 * Whose annotations a GET returns: the caller (or, for admins, `user`) plus the members of the
 * requested groups. Non-admins may name only their own groups; groups they are not in are
 * dropped, and naming none of theirs is refused.
 */
export async function readableOwners(deps: Needs, caller: Caller, request: ReadRequest): Promise<string[]> {
  const { user } = caller;
  const target = request.user ?? user.email;
  if (target !== user.email && !isAdmin(user))
    throw forbidden(`Only admins can read the annotations of ${target}`);
  const owners = new Set([target]);
  if (request.groups) {
    const allowed = readableGroups(user, request.groups);
    if (allowed.length === 0)
      throw forbidden(`${user.email} is not a member of ${request.groups.join(", ")}`);
    for (const member of await deps.users.membersOf(allowed)) owners.add(member);
  }
  return [...owners].sort();
}

/**
 * Firestore documents fetched per query while streaming a whole list (clio read its big lists
 * in batches of 5000 too). Fewer, larger queries are much faster where a query's cost grows with
 * the collection (the emulator) and cost the same reads in production; memory stays bounded by
 * one batch.
 */
export const STREAM_READ_AHEAD = 5000;

/**
 * Pages through the annotations of several users, user by user, each in key order. A position is
 * `[owner, key]`, so a cursor survives a change in the member list. With `readAhead`, Firestore is
 * queried that many documents at a time and the pages are served from the batch.
 */
export function annotationPages(
  db: Firestore,
  dataset: string,
  owners: string[],
  readAhead?: number,
): PageReader {
  // Streamed and bounded in bytes like store/pages.ts (security review M1): a batch of read-ahead
  // documents stops at the budget, so 5,000 documents of ~1 MiB never sit in memory together.
  const fetchPage: PageReader = async (after, limit, maxBytes = DEFAULT_PAGE_MAX_BYTES) => {
    let index = 0;
    let startKey: string | undefined;
    if (after !== undefined) {
      const [owner, key] = parsePosition(after);
      index = owners.findIndex((o) => o >= owner);
      if (index < 0) return [];
      if (owners[index] === owner) startKey = key;
    }
    const items: ListItem[] = [];
    let bytes = 0;
    for (; index < owners.length && items.length < limit; index++, startKey = undefined) {
      const owner = owners[index]!;
      let query = userAnnotations(db, dataset, owner)
        .orderBy(FieldPath.documentId())
        .limit(limit - items.length);
      if (startKey !== undefined) query = query.startAfter(startKey);
      // Leaving the loop early destroys the stream, which cancels the rest of the query.
      for await (const doc of query.stream() as AsyncIterable<QueryDocumentSnapshot>) {
        if (bytes >= maxBytes) return markCut(items);
        const data = doc.data();
        items.push({
          key: doc.id,
          value: { ...data, user: owner, key: doc.id },
          position: JSON.stringify([owner, doc.id]),
        });
        bytes += approxBytes(data) + doc.id.length;
      }
    }
    return items;
  };
  if (readAhead === undefined) return fetchPage;

  let buffer: ListItem[] = [];
  /** The position the buffer continues from, and the position of its last item. */
  let head: string | undefined | null = null;
  let tail: string | undefined;
  let exhausted = false;
  return async (after, limit, maxBytes = DEFAULT_PAGE_MAX_BYTES) => {
    if (after !== head) {
      buffer = [];
      tail = after;
      exhausted = false;
    }
    while (buffer.length < limit && !exhausted) {
      const want = Math.max(readAhead, limit);
      const more = await fetchPage(tail, want, maxBytes);
      buffer.push(...more);
      tail = more.at(-1)?.position ?? tail;
      if (wasCut(more)) break;
      exhausted = more.length < want;
    }
    const page = buffer.splice(0, limit);
    head = page.at(-1)?.position ?? after;
    // Fewer than asked while more may follow: say so, so the caller pages on.
    return page.length < limit && (buffer.length > 0 || !exhausted) ? markCut(page) : page;
  };
}

export interface WriteOptions {
  /** true: overwrite the document; false: merge into it. */
  replace: boolean;
  /** With replace=false: fields written only where the stored value is missing or falsy. */
  conditional: string[];
  /** A single annotation only: the key it had before, deleted once it is written elsewhere. */
  moveKey?: string | undefined;
}

/** Python's falsiness, which clio's `conditional` tested. */
function isFalsy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === "") return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === "object") return Object.keys(value).length === 0;
  return false;
}

function isPlainObject(value: unknown): value is Doc {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Firestore's `set(..., {merge: true})`: maps merge field by field, anything else is replaced.
 * Fields are defined, never assigned, so a field named `__proto__` (refused by the schema anyway,
 * security review L12) would stay data and could not swap an object's prototype.
 */
function deepMerge(base: Doc, update: Doc): Doc {
  const out: Doc = { ...base };
  for (const [key, value] of Object.entries(update)) {
    const current = Object.hasOwn(out, key) ? out[key] : undefined;
    const merged = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
    Object.defineProperty(out, key, { value: merged, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function mergeInto(existing: Doc | undefined, update: Doc, conditional: string[]): Doc {
  const base = existing ?? {};
  const fields = { ...update };
  for (const field of conditional)
    if (Object.hasOwn(fields, field) && !isFalsy(Object.hasOwn(base, field) ? base[field] : undefined))
      delete fields[field];
  return deepMerge(base, fields);
}

function checkSize(doc: Doc, key: string): void {
  const bytes = Buffer.byteLength(JSON.stringify(doc));
  if (bytes > MAX_DOCUMENT_BYTES) {
    throw new ApiError(
      "payload_too_large",
      `Annotation ${key} is ${bytes} bytes; the limit is ${MAX_DOCUMENT_BYTES}`,
    );
  }
}

/** What is stored: the fields that were sent (clio's exclude_unset) and the owner. */
function toDoc(annotation: Annotation, owner: string): Doc {
  const doc: Doc = { kind: annotation.kind, pos: annotation.pos };
  for (const field of ["prop", "tags", "title", "description"] as const) {
    if (annotation[field] !== undefined) doc[field] = annotation[field];
  }
  doc.user = owner;
  return doc;
}

interface Target {
  ref: DocumentReference;
  key: string;
  /** Every posted version of this document, in order (a list may repeat a key). */
  updates: Doc[];
}

interface Prior {
  ref: DocumentReference;
  data: Doc | undefined;
}

/**
 * Writes annotations and returns their keys in the order posted. Every permission and size check
 * happens before anything is written.
 */
export async function writeAnnotations(
  deps: Needs,
  caller: Caller,
  dataset: string,
  annotations: Annotation[],
  options: WriteOptions,
): Promise<string[]> {
  // clio ignored `conditional` on a replacing write (malevnc sends both with update=FALSE).
  if (options.replace) options = { ...options, conditional: [] };
  if (options.moveKey !== undefined && annotations.length !== 1)
    throw badRequest("move_key applies to a single annotation only");

  const { user } = caller;
  const owners = new Set(annotations.map((a) => a.user ?? user.email));
  for (const owner of owners) await caller.require(ownerWritePermission(user, owner), dataset);

  const keys: string[] = [];
  const targets = new Map<string, Target>();
  // One collection reference per owner: building one per item parses and validates the same path
  // again for each (a measurable part of a 500-item list's cost next to the commit itself).
  const collections = new Map<string, CollectionReference>();
  for (const annotation of annotations) {
    const owner = annotation.user ?? user.email;
    const key = annotationKey(annotation);
    const doc = toDoc(annotation, owner);
    checkSize(doc, key);
    keys.push(key);
    let collection = collections.get(owner);
    if (!collection) {
      collection = userAnnotations(deps.db, dataset, owner);
      collections.set(owner, collection);
    }
    const ref = collection.doc(key);
    const target = targets.get(ref.path);
    if (target) target.updates.push(doc);
    else targets.set(ref.path, { ref, key, updates: [doc] });
  }

  const all = [...targets.values()];
  await assertCaps(deps, dataset, collections, all);
  const moveFrom =
    options.moveKey !== undefined && options.moveKey !== keys[0]
      ? userAnnotations(deps.db, dataset, annotations[0]!.user ?? user.email).doc(options.moveKey)
      : undefined;
  const chunks: Target[][] = [];
  for (let i = 0; i < all.length; i += WRITES_PER_COMMIT) chunks.push(all.slice(i, i + WRITES_PER_COMMIT));

  // A lone chunk of overwrites needs no reads: one atomic batch is the whole write.
  if (chunks.length === 1 && options.replace) {
    const batch = deps.db.batch();
    for (const t of chunks[0]!) batch.set(t.ref, t.updates[t.updates.length - 1]!);
    if (moveFrom) batch.delete(moveFrom);
    await batch.commit();
    return keys;
  }

  const committed: Prior[] = [];
  try {
    for (const chunk of chunks) {
      const priors = await deps.db.runTransaction(async (tx) => {
        const snaps = await tx.getAll(...chunk.map((t) => t.ref));
        const finals = chunk.map((t, i) => {
          let doc = snaps[i]!.data();
          for (const update of t.updates)
            doc = options.replace ? update : mergeInto(doc, update, options.conditional);
          checkSize(doc!, t.key);
          return doc!;
        });
        chunk.forEach((t, i) => tx.set(t.ref, finals[i]!));
        if (moveFrom) tx.delete(moveFrom);
        return snaps.map((s, i): Prior => ({ ref: chunk[i]!.ref, data: s.data() }));
      });
      committed.push(...priors);
    }
  } catch (err) {
    if (committed.length > 0) await restore(deps, dataset, committed);
    throw err;
  }
  return keys;
}

/**
 * Refuses a write that would leave an owner with more annotations in the dataset than the cap
 * (USER_STORAGE_CAPS annotations). Counting first is enough while the list fits even if every
 * key is new; only a write near the cap reads which keys already exist. Checked before the
 * commit, so concurrent lists of one owner can overshoot by what is in flight (the write rate
 * limit bounds that); sequential writes never pass the cap.
 */
async function assertCaps(
  deps: Needs,
  dataset: string,
  collections: Map<string, CollectionReference>,
  targets: Target[],
): Promise<void> {
  const cap = deps.config.userStorageCaps.annotations;
  const counts = deps.get(capCounts);
  const now = deps.now().getTime();
  for (const [owner, collection] of collections) {
    const mine = targets.filter((t) => t.ref.parent.path === collection.path);
    const key = `annotations ${dataset} ${owner}`;
    const known = counts.recent(key, now);
    if (known !== undefined && known + mine.length <= cap / 2) {
      counts.added(key, mine.length);
      continue;
    }
    const count = (await collection.count().get()).data().count;
    counts.counted(key, count, now);
    let adding = mine.length;
    if (count + adding > cap) {
      adding = 0;
      for (let i = 0; i < mine.length; i += WRITES_PER_COMMIT) {
        const snaps = await deps.db.getAll(...mine.slice(i, i + WRITES_PER_COMMIT).map((t) => t.ref));
        adding += snaps.filter((snap) => !snap.exists).length;
      }
      if (count + adding > cap) throw overCap("annotations", cap, dataset, owner);
    }
    counts.added(key, adding);
  }
}

/** Puts documents back as they were before a list that failed partway. */
async function restore(deps: Needs, dataset: string, priors: Prior[]): Promise<void> {
  try {
    for (let i = 0; i < priors.length; i += WRITES_PER_COMMIT) {
      const batch = deps.db.batch();
      for (const p of priors.slice(i, i + WRITES_PER_COMMIT)) {
        if (p.data === undefined) batch.delete(p.ref);
        else batch.set(p.ref, p.data);
      }
      await batch.commit();
    }
  } catch (err) {
    deps.log.error("annotation list partly written and not restored", {
      dataset,
      documents: priors.length,
      error: err instanceof Error ? err.message : String(err),
    });
    throw new ApiError(
      "internal",
      "The annotation list failed partway and could not be fully undone; post it again",
    );
  }
}

/** Deletes one annotation of the caller, or of `owner` for those who may write others'. Idempotent. */
export async function deleteAnnotation(
  deps: Needs,
  caller: Caller,
  dataset: string,
  key: string,
  owner?: string,
): Promise<void> {
  const whose = owner ?? caller.user.email;
  await caller.require(ownerWritePermission(caller.user, whose), dataset);
  await userAnnotations(deps.db, dataset, whose).doc(key).delete();
}
