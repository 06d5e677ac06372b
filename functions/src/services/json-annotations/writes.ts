/**
 * Writes. A posted list is one Firestore transaction, so it is all or nothing and each record is
 * read and written atomically (concurrent writers of one record retry, none loses a field). Every
 * changed record keeps its previous HEAD as an archive document, with who wrote it and when.
 */
import { FieldValue, type Firestore } from "firebase-admin/firestore";
import { notFound } from "../../errors.js";
import { assertFitsDocument } from "../../store/document-size.js";
import { decodeState, headId, recordsCollection, storedBodyId, type Meta, type State } from "./layout.js";
import { applyWrite, type Fields, type Posted } from "./records.js";
import type { DatasetReplica } from "./replica.js";

export interface WriteEnv {
  db: Firestore;
  now(): Date;
}

export interface WriteRequest {
  replace: boolean;
  conditional: string[];
  /** Whose name goes into `<field>_user` (designated_user, or the caller). */
  stampUser: string;
  /** The caller, recorded as `_user` of the new state. */
  writer: string;
  /** `_version` of the new state: the dataset's HEAD tag as clio numbered it. */
  version: number;
}

/** Concurrent writers of one record retry; 20 at once must all land. */
const MAX_ATTEMPTS = 60;

function archiveData(data: FirebaseFirestore.DocumentData): FirebaseFirestore.DocumentData {
  const { _archived_versions: _v, _archived_keys: _k, ...rest } = data;
  return { ...rest, _head: false };
}

function headData(bodyid: string, fields: Fields, meta: Omit<Meta, "ms" | "head">, nowSeconds: number) {
  return {
    ...fields,
    bodyid: storedBodyId(bodyid),
    _head: true,
    _version: meta.version,
    _timestamp: nowSeconds,
    _user: meta.user,
    _updated: FieldValue.serverTimestamp(),
    ...(meta.deleted ? { _deleted: true } : {}),
    _archived_versions: meta.archivedVersions,
    _archived_keys: meta.archivedKeys,
  };
}

interface Planned {
  bodyid: string;
  state: State;
}

/** Applies posted records; returns nothing (clio answers null). */
export async function writeRecords(
  env: WriteEnv,
  replica: DatasetReplica,
  posted: Posted[],
  request: WriteRequest,
): Promise<void> {
  const collection = recordsCollection(env.db, replica.dataset);
  const keys = [...new Set(posted.map((p) => p.bodyid))];
  const planned = await env.db.runTransaction(
    async (tx) => {
      const now = env.now();
      const stampTime = now.toISOString().replace(/\.\d{3}Z$/, "Z");
      const snaps = keys.length > 0 ? await tx.getAll(...keys.map((k) => collection.doc(headId(k)))) : [];
      const current = new Map<
        string,
        { data: FirebaseFirestore.DocumentData | undefined; fields: Fields | undefined }
      >();
      snaps.forEach((snap, i) => {
        const data = snap.data();
        const state = data ? decodeState(data) : undefined;
        current.set(keys[i]!, { data, fields: state && !state.meta.deleted ? state.fields : undefined });
      });
      const next = new Map<string, Fields>();
      for (const p of posted) {
        const base = next.get(p.bodyid) ?? current.get(p.bodyid)!.fields;
        const written = applyWrite(base, p.fields, {
          replace: request.replace,
          conditional: request.conditional,
          stampUser: request.stampUser,
          stampTime,
        });
        if (written) next.set(p.bodyid, written);
      }
      const out: Planned[] = [];
      for (const [bodyid, fields] of next) {
        const { data } = current.get(bodyid)!;
        const old = data ? decodeState(data) : undefined;
        const meta = {
          version: request.version,
          user: request.writer,
          deleted: false,
          archivedVersions: old ? [old.meta.version, ...old.meta.archivedVersions] : [],
          archivedKeys: [] as string[],
        };
        const headRef = collection.doc(headId(bodyid));
        if (data) {
          const archiveRef = collection.doc();
          tx.set(archiveRef, archiveData(data));
          meta.archivedKeys = [archiveRef.id, ...old!.meta.archivedKeys];
        }
        const head = headData(bodyid, fields, meta, now.getTime() / 1000);
        assertFitsDocument(headRef, head, `Annotation of body ${bodyid}`);
        tx.set(headRef, head);
        out.push({ bodyid, state: { fields, meta: { ...meta, head: true, ms: now.getTime() } } });
      }
      return out;
    },
    { maxAttempts: MAX_ATTEMPTS },
  );
  for (const { bodyid, state } of planned)
    replica.apply(
      { key: bodyid, id: BigInt(bodyid), fields: state.fields, meta: state.meta, local: true },
      "local",
    );
}

/** Deletes a record: its HEAD becomes a tombstone whose archive chain keeps the history. */
export async function deleteRecord(
  env: WriteEnv,
  replica: DatasetReplica,
  bodyid: string,
  request: Pick<WriteRequest, "writer" | "version">,
): Promise<void> {
  const collection = recordsCollection(env.db, replica.dataset);
  const headRef = collection.doc(headId(bodyid));
  const state = await env.db.runTransaction(
    async (tx) => {
      const snap = await tx.get(headRef);
      const data = snap.data();
      const old = data ? decodeState(data) : undefined;
      if (!data || !old || old.meta.deleted) throw notFound(`Body ${bodyid} has no annotation`);
      const archiveRef = collection.doc();
      tx.set(archiveRef, archiveData(data));
      const now = env.now();
      const meta = {
        version: request.version,
        user: request.writer,
        deleted: true,
        archivedVersions: [old.meta.version, ...old.meta.archivedVersions],
        archivedKeys: [archiveRef.id, ...old.meta.archivedKeys],
      };
      tx.set(headRef, headData(bodyid, {}, meta, now.getTime() / 1000));
      return { fields: {}, meta: { ...meta, head: true, ms: now.getTime() } } satisfies State;
    },
    { maxAttempts: MAX_ATTEMPTS },
  );
  replica.apply({ key: bodyid, id: BigInt(bodyid), ...state, local: true }, "local");
}
