/**
 * Reads over the replica: by id, by query, everything, and a record's history. HEAD reads touch
 * no Firestore document. Reads of an older version take HEAD where it has not changed since, and
 * fetch the archive chain only of the records written after that version.
 */
import type { DocumentReference, Firestore } from "firebase-admin/firestore";
import { recordJson } from "./exact-json.js";
import { decodeState, recordsCollection, type Meta, type State } from "./layout.js";
import { matches, project, type CompiledQuery, type Fields, type Projection } from "./records.js";
import type { DatasetReplica, Entry } from "./replica.js";
import type { ReadAt } from "./versions.js";

export interface ReadEnv {
  db: Firestore;
}

/** Documents per getAll while reading archive chains. */
const GET_ALL_CHUNK = 300;

type Resolve = (entry: Entry) => Fields | undefined;

function holds(meta: Meta, at: ReadAt): boolean {
  if (at.kind === "head") return true;
  if (at.kind === "time") return meta.ms <= at.ms;
  return meta.version <= at.version;
}

async function getAllChunked(db: Firestore, refs: DocumentReference[]) {
  const out = [];
  for (let i = 0; i < refs.length; i += GET_ALL_CHUNK)
    out.push(...(await db.getAll(...refs.slice(i, i + GET_ALL_CHUNK))));
  return out;
}

/** How to see each entry at `at`: HEAD when it already held then, else the archive that did. */
async function resolver(
  env: ReadEnv,
  replica: DatasetReplica,
  at: ReadAt,
  candidates: Iterable<Entry>,
): Promise<Resolve> {
  const head: Resolve = (e) => (e.meta.deleted ? undefined : e.fields);
  if (at.kind === "head") return head;
  const collection = recordsCollection(env.db, replica.dataset);
  const refs: DocumentReference[] = [];
  const owners: string[] = [];
  for (const e of candidates) {
    if (holds(e.meta, at)) continue;
    for (const key of e.meta.archivedKeys) {
      refs.push(collection.doc(key));
      owners.push(e.key);
    }
  }
  const older = new Map<string, Fields | undefined>();
  const snaps = await getAllChunked(env.db, refs);
  // Archive chains are newest first: the first archive that held at `at` is the state then.
  snaps.forEach((snap, i) => {
    const owner = owners[i]!;
    if (older.has(owner)) return;
    const data = snap.data();
    if (!data) return;
    const state = decodeState(data);
    if (holds(state.meta, at)) older.set(owner, state.meta.deleted ? undefined : state.fields);
  });
  return (e) => (holds(e.meta, at) ? head(e) : older.get(e.key));
}

function entriesOf(replica: DatasetReplica, keys: Iterable<string>): Entry[] {
  const out: Entry[] = [];
  for (const key of keys) {
    const e = replica.get(key);
    if (e) out.push(e);
  }
  return out;
}

/** Records of `ids` in the order asked, each once; ids without a record are left out. */
export async function readByIds(
  env: ReadEnv,
  replica: DatasetReplica,
  ids: string[],
  at: ReadAt,
  projection: Projection,
): Promise<string[]> {
  const entries = entriesOf(replica, new Set(ids));
  const resolve = await resolver(env, replica, at, entries);
  const out: string[] = [];
  for (const e of entries) {
    const fields = resolve(e);
    if (fields) out.push(recordJson(e.key, project(fields, projection)));
  }
  return out;
}

/** Matching records (or their ids) sorted by body id. */
export async function readQuery(
  env: ReadEnv,
  replica: DatasetReplica,
  query: CompiledQuery,
  at: ReadAt,
  projection: Projection,
  onlyid: boolean,
): Promise<string[]> {
  const candidates = query.ids
    ? entriesOf(replica, query.ids).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    : replica.entries();
  const resolve = await resolver(env, replica, at, candidates);
  const out: string[] = [];
  for (const e of candidates) {
    const fields = resolve(e);
    if (!fields || !matches(query, e.id, fields)) continue;
    out.push(onlyid ? e.key : recordJson(e.key, project(fields, projection)));
  }
  return out;
}

/** Every record with at least one field besides `bodyid` (as DVID lists them), by body id. */
export async function readAll(
  env: ReadEnv,
  replica: DatasetReplica,
  at: ReadAt,
  projection: Projection,
): Promise<Iterable<string>> {
  const entries = replica.entries();
  const resolve = await resolver(env, replica, at, entries);
  return (function* () {
    for (const e of entries) {
      const fields = resolve(e);
      if (fields && Object.keys(fields).length > 0) yield recordJson(e.key, project(fields, projection));
    }
  })();
}

/**
 * `changes=true`: each record's history, newest first: HEAD, then every archived state, each
 * with `_user` (who wrote it), `_time` (when, RFC 3339), `_version` and `_deleted` for deletions.
 */
export async function readChanges(
  env: ReadEnv,
  replica: DatasetReplica,
  ids: string[],
  projection: Projection,
): Promise<string[]> {
  const collection = recordsCollection(env.db, replica.dataset);
  const entries = entriesOf(replica, new Set(ids));
  const refs = entries.flatMap((e) => e.meta.archivedKeys.map((k) => collection.doc(k)));
  const snaps = await getAllChunked(env.db, refs);
  const out: string[] = [];
  let i = 0;
  const emit = (key: string, state: State) =>
    out.push(
      recordJson(key, {
        ...project(state.fields, projection),
        _user: state.meta.user ?? null,
        _time: new Date(state.meta.ms).toISOString(),
        _version: state.meta.version,
        ...(state.meta.deleted ? { _deleted: true } : {}),
      }),
    );
  for (const e of entries) {
    emit(e.key, e);
    for (let n = 0; n < e.meta.archivedKeys.length; n++) {
      const data = snaps[i++]!.data();
      if (data) emit(e.key, decodeState(data));
    }
  }
  return out;
}
