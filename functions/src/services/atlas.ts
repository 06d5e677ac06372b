/**
 * The atlas: titled points at dataset locations, one per (owner, dataset, location), with a
 * verification workflow. Stored where clio-store kept them (`clio_annotations/ATLAS/annotations`).
 *
 * clio-store wrote with a query followed by a write, so concurrent posts duplicated points. Here a
 * point created by neurofire gets a document id derived from (owner, dataset, location), and every
 * upsert reads that document inside its transaction: concurrent writers of one location contend
 * on one document and Firestore serialises them. Points clio created under auto ids are still
 * found by the same transaction's query and updated in place; any duplicates it left are removed.
 */
import { createHash } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import {
  FieldPath,
  type CollectionReference,
  type DocumentData,
  type DocumentReference,
  type Query,
  type QueryDocumentSnapshot,
} from "firebase-admin/firestore";
import { allows, ATLAS_VERIFY } from "../auth/permissions.js";
import { badRequest, forbidden, notFound } from "../errors.js";
import { assertRoom, overCap, type CapCheck } from "../store/caps.js";
import { capCounts } from "./annotations.js";
import type { Root } from "./root.js";
import {
  approxBytes,
  DEFAULT_PAGE_MAX_BYTES,
  firestorePages,
  markCut,
  type ListItem,
  type PageReader,
} from "../store/pages.js";
import type { Caller } from "../auth/caller.js";
import { atlasPointSchema, type AtlasBody, type AtlasPoint, type Location } from "../schemas/atlas.js";
import type { User } from "../schemas/users.js";
import { assertFitsDocument } from "../store/document-size.js";
import { nowSeconds } from "./kv.js";

/** What this service needs of the composition root. */
type Needs = Pick<Root, "config" | "datasets" | "db" | "get" | "now">;

export const ATLAS_PATH = "clio_annotations/ATLAS/annotations";
/** Bounds the legacy duplicates one upsert or delete looks at. */
const MAX_MATCHES = 100;
/** Firestore `in` filters take few values; clio's era allowed 10. */
const IN_CHUNK = 10;
/** Contending writers of one location retry; Firestore's default of 5 attempts is too few for bursts. */
const TX_ATTEMPTS = 20;

/** Fields the server owns; a client cannot set them. */
const SERVER_FIELDS = [
  "timestamp",
  "dataset",
  "location",
  "locationkey",
  "id",
  "verified_by",
  "verified_at",
] as const;

export const locationKey = (loc: Location) => `${loc.x}_${loc.y}_${loc.z}`;

/** The id of the document neurofire creates for (owner, dataset, location); 20 chars like an auto id. */
export function locatedId(owner: string, dataset: string, locationkey: string): string {
  return createHash("sha256")
    .update(JSON.stringify([owner, dataset, locationkey]))
    .digest("base64url")
    .slice(0, 20);
}

export interface LocatedUpsert {
  collection: CollectionReference;
  ownerField: "user" | "email";
  owner: string;
  dataset: string;
  locationkey: string;
  /** Caps the owner's records in the dataset (a new record is refused past it). */
  cap?: CapCheck;
  /** The record to store, given the current one (throw to refuse). */
  build(existing: DocumentData | undefined, id: string): Promise<DocumentData> | DocumentData;
}

/**
 * Writes of one record queue up within this instance. The transaction alone is correct across
 * instances, but Firestore resolves contention by aborting and retrying with back-off, so a burst
 * at one location (a client retrying, a double click) would otherwise take seconds.
 */
const queues = new Map<string, Promise<unknown>>();

function serialised<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const run = previous.then(task, task);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return run;
}

/** Creates or replaces the one record of (owner, dataset, location), in one transaction. */
export async function upsertLocated(
  deps: Needs,
  u: LocatedUpsert,
): Promise<{ id: string; data: DocumentData }> {
  const fixedRef = u.collection.doc(locatedId(u.owner, u.dataset, u.locationkey));
  return serialised(fixedRef.path, () => upsertInTransaction(deps, u, fixedRef));
}

async function upsertInTransaction(
  deps: Needs,
  u: LocatedUpsert,
  fixedRef: DocumentReference,
): Promise<{ id: string; data: DocumentData }> {
  const matches = u.collection
    .where(u.ownerField, "==", u.owner)
    .where("dataset", "==", u.dataset)
    .where("locationkey", "==", u.locationkey)
    .limit(MAX_MATCHES);
  return deps.db.runTransaction(
    async (tx) => {
      const fixed = await tx.get(fixedRef);
      const found = await tx.get(matches);
      const keep = fixed.exists ? fixed : found.docs[0];
      const target = keep?.ref ?? fixedRef;
      if (!keep && u.cap) {
        const owned = u.collection.where(u.ownerField, "==", u.owner).where("dataset", "==", u.dataset);
        await assertRoom(owned, 1, u.cap, tx);
      }
      const data = await u.build(keep?.data(), target.id);
      assertFitsDocument(target, data, "The record");
      tx.set(target, data);
      for (const doc of found.docs) if (doc.id !== target.id) tx.delete(doc.ref);
      return { id: target.id, data };
    },
    { maxAttempts: TX_ATTEMPTS },
  );
}

/** Deletes every record of (owner, dataset, location); returns how many there were. */
export async function deleteLocated(
  deps: Needs,
  collection: CollectionReference,
  ownerField: "user" | "email",
  owner: string,
  dataset: string,
  locationkey: string,
): Promise<number> {
  const snap = await collection
    .where(ownerField, "==", owner)
    .where("dataset", "==", dataset)
    .where("locationkey", "==", locationkey)
    .limit(MAX_MATCHES)
    .get();
  const batch = deps.db.batch();
  for (const doc of snap.docs) batch.delete(doc.ref);
  await batch.commit();
  return snap.size;
}

/** A stored point as clients see it. Old records lacking `verified` read as unverified (not written back). */
export function presentPoint(id: string, data: DocumentData): AtlasPoint {
  return atlasPointSchema.parse({ ...data, id, verified: data.verified === true });
}

const atlas = (deps: Needs) => deps.db.collection(ATLAS_PATH);

/** The caller's own points in a dataset, keyed by location. */
export function ownPointPages(deps: Needs, user: User, dataset: string): PageReader {
  const query = atlas(deps).where("user", "==", user.email).where("dataset", "==", dataset);
  return firestorePages(query, (id, data) => ({
    key: String(data.locationkey),
    value: presentPoint(id, data),
  }));
}

type Can = Caller["can"];

/**
 * Creates or replaces the point of `body.user` at a location. Posting for another user needs
 * clio_write; so does setting `verified` or editing a verified point. A change of `verified` is
 * recorded in `verified_by`/`verified_at`, and a post that changes nothing but `verified` (the
 * website's verification toggle) keeps the point's own `timestamp`.
 */
export async function upsertPoint(
  deps: Needs,
  user: User,
  can: Can,
  dataset: string,
  loc: Location,
  body: AtlasBody,
): Promise<AtlasPoint> {
  if (dataset === "all") throw badRequest('"all" is not a dataset: it names the cross-dataset listing');
  const owner = body.user.toLowerCase();
  if (!(await can("can_write_own", dataset)))
    throw forbidden(`${user.email} cannot write atlas points in dataset ${dataset}`);
  const mayVerify = await can(ATLAS_VERIFY, dataset);
  if (owner !== user.email && !mayVerify)
    throw forbidden(`Only clio_write users can write atlas points for ${owner}`);
  if (body.verified === true && !mayVerify) throw forbidden("Only clio_write users can verify atlas points");

  const client: DocumentData = { ...body, user: owner };
  for (const field of SERVER_FIELDS) delete client[field];
  const verified = body.verified ?? false;
  const locationkey = locationKey(loc);
  const now = nowSeconds(deps);

  const { id, data } = await upsertLocated(deps, {
    collection: atlas(deps),
    ownerField: "user",
    owner,
    dataset,
    locationkey,
    cap: {
      max: deps.config.userStorageCaps.atlas,
      key: `atlas ${dataset} ${owner}`,
      counts: deps.get(capCounts),
      nowMs: deps.now().getTime(),
      refuse: () => overCap("atlas", deps.config.userStorageCaps.atlas, dataset, owner),
    },
    build(existing, id) {
      if (existing?.verified === true && !mayVerify)
        throw forbidden("Only clio_write users can edit verified atlas points");
      const before = existing ? clientFields(existing) : undefined;
      const unchanged = before !== undefined && isDeepStrictEqual(before, clientFields(client));
      const wasVerified = existing?.verified === true;
      const record: DocumentData = {
        ...client,
        verified,
        timestamp: unchanged && typeof existing?.timestamp === "number" ? existing.timestamp : now,
        dataset,
        location: [loc.x, loc.y, loc.z],
        locationkey,
        id,
      };
      if (existing === undefined ? verified : verified !== wasVerified) {
        record.verified_by = user.email;
        record.verified_at = now;
      } else {
        const { verified_by: by, verified_at: at } = (existing ?? {}) as {
          verified_by?: unknown;
          verified_at?: unknown;
        };
        if (by !== undefined) record.verified_by = by;
        if (at !== undefined) record.verified_at = at;
      }
      return record;
    },
  });
  return presentPoint(id, data);
}

/** The fields a client wrote, for telling an edit from a verification toggle. */
function clientFields(data: DocumentData): DocumentData {
  const out: DocumentData = { ...data };
  for (const field of SERVER_FIELDS) delete out[field];
  delete out.verified;
  return out;
}

export async function deletePoint(deps: Needs, user: User, dataset: string, loc: Location): Promise<void> {
  await deleteLocated(deps, atlas(deps), "user", user.email, dataset, locationKey(loc));
}

/**
 * Toggles a point's verification, recording who did it and when; its `timestamp` stays.
 * `changed` receives the point before and after (for the audit entry's digests).
 */
export async function toggleVerified(
  deps: Needs,
  user: User,
  can: Can,
  id: string,
  changed?: (before: AtlasPoint, after: AtlasPoint) => void,
): Promise<AtlasPoint> {
  const ref = atlas(deps).doc(id);
  const current = (await ref.get()).data();
  if (!current) throw notFound(`Atlas point ${id} does not exist`);
  const dataset = String(current.dataset);
  if (!(await can(ATLAS_VERIFY, dataset)))
    throw forbidden(`Only clio_write users can verify atlas points in ${dataset}`);
  return deps.db
    .runTransaction(async (tx) => {
      const data = (await tx.get(ref)).data();
      if (!data) throw notFound(`Atlas point ${id} does not exist`);
      const update = {
        verified: data.verified !== true,
        verified_by: user.email,
        verified_at: nowSeconds(deps),
      };
      tx.update(ref, update);
      return [presentPoint(id, data), presentPoint(id, { ...data, ...update })] as const;
    })
    .then(([before, after]) => {
      changed?.(before, after);
      return after;
    });
}

interface Source {
  query: Query;
  keep(data: DocumentData): boolean;
}

/**
 * Every point the caller may see, as queries rather than a scan: their own points (in datasets
 * they can read), every point of datasets where they have clio_write, and the verified points of
 * the other datasets they can read. The sources are read one after another in document-id order;
 * a position is "<source index>:<document id>".
 */
export async function visiblePointPages(deps: Needs, user: User): Promise<PageReader> {
  const datasets = await deps.datasets.all();
  const isPublic = (ds: string) => datasets.get(ds)?.public === true;
  const writable: string[] = [];
  const readable: string[] = [];
  for (const id of datasets.keys()) {
    if (allows(user, ATLAS_VERIFY, id, isPublic(id))) writable.push(id);
    else if (allows(user, "can_read", id, isPublic(id))) readable.push(id);
  }
  const notMine = (data: DocumentData) => data.user !== user.email;
  const sources: Source[] = [
    {
      query: atlas(deps).where("user", "==", user.email),
      keep: (data) => allows(user, "can_read", String(data.dataset), isPublic(String(data.dataset))),
    },
  ];
  for (let i = 0; i < writable.length; i += IN_CHUNK) {
    sources.push({
      query: atlas(deps).where("dataset", "in", writable.slice(i, i + IN_CHUNK)),
      keep: notMine,
    });
  }
  for (let i = 0; i < readable.length; i += IN_CHUNK) {
    const chunk = readable.slice(i, i + IN_CHUNK);
    sources.push({
      query: atlas(deps).where("dataset", "in", chunk).where("verified", "==", true),
      keep: notMine,
    });
  }
  return chainedPages(sources);
}

function chainedPages(sources: Source[]): PageReader {
  return async (after, limit, maxBytes = DEFAULT_PAGE_MAX_BYTES) => {
    let index = 0;
    let docAfter: string | undefined;
    if (after !== undefined) {
      const colon = after.indexOf(":");
      index = Number(after.slice(0, colon));
      docAfter = after.slice(colon + 1);
      // A document id never holds "/": one in a cursor is forged (a 500 before, security L12).
      if (colon < 0 || !Number.isInteger(index) || index < 0 || docAfter.includes("/"))
        throw badRequest("Invalid cursor");
    }
    const out: ListItem[] = [];
    let bytes = 0;
    while (index < sources.length) {
      const source = sources[index]!;
      let q = source.query.orderBy(FieldPath.documentId()).limit(limit);
      if (docAfter !== undefined) q = q.startAfter(docAfter);
      // Streamed and bounded in bytes (security review M1): a curator's `all` over a dataset full
      // of ~1 MiB points holds one budget of them, and skipped points are never held at all.
      let read = 0;
      for await (const doc of q.stream() as AsyncIterable<QueryDocumentSnapshot>) {
        read += 1;
        const data = doc.data();
        if (source.keep(data)) {
          if (bytes >= maxBytes) return markCut(out);
          out.push({ key: doc.id, value: presentPoint(doc.id, data), position: `${index}:${doc.id}` });
          bytes += approxBytes(data) + doc.id.length;
          if (out.length === limit) return out;
        }
        docAfter = doc.id;
      }
      if (read < limit) {
        index += 1;
        docAfter = undefined;
      }
    }
    return out;
  };
}
