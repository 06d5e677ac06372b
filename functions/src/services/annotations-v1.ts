/**
 * Legacy v1 annotations: any JSON object at an x,y,z location, one per user, dataset and
 * location, in `clio_annotations/USER/annotations/{id}` as clio's v1 API stored them.
 *
 * clio added a document on every POST, so reposting a location left duplicates; here a POST
 * replaces what is at the location, in a transaction, and removes duplicates old data may hold.
 * New documents get an id derived from (user, dataset, location), so two concurrent first POSTs
 * cannot both create one.
 */
import { createHash } from "node:crypto";
import type { Firestore } from "firebase-admin/firestore";
import { ApiError } from "../errors.js";
import type { Root } from "./root.js";
import { firestorePages, type PageReader } from "../store/pages.js";
import type { Caller } from "../auth/caller.js";
import { FIRESTORE_MAX_DOCUMENT_BYTES as MAX_DOCUMENT_BYTES } from "../store/document-size.js";
import { assertRoom, overCap } from "../store/caps.js";
import { capCounts } from "./annotations.js";

/** What this service needs of the composition root. */
type Needs = Pick<Root, "config" | "db" | "get" | "now">;

export const ANNOTATIONS_V1 = "clio_annotations";
/** Bounds the duplicates one request cleans up; legacy data rarely holds more than a few. */
const MAX_MATCHES = 100;

export interface Location {
  x: number;
  y: number;
  z: number;
}

export function v1Annotations(db: Firestore) {
  return db.collection(ANNOTATIONS_V1).doc("USER").collection("annotations");
}

const locationKey = (l: Location) => `${l.x}_${l.y}_${l.z}`;

function atLocation(db: Firestore, email: string, dataset: string, location: Location) {
  return v1Annotations(db)
    .where("email", "==", email)
    .where("dataset", "==", dataset)
    .where("locationkey", "==", locationKey(location))
    .limit(MAX_MATCHES);
}

/** The caller's v1 annotations in a dataset, keyed `x_y_z`, each with its document `id`. */
export function v1Pages(deps: Needs, caller: Caller, dataset: string): PageReader {
  const query = v1Annotations(deps.db)
    .where("email", "==", caller.user.email)
    .where("dataset", "==", dataset);
  return firestorePages(query, (id, data) => ({ key: String(data.locationkey), value: { ...data, id } }));
}

export async function writeV1(
  deps: Needs,
  caller: Caller,
  dataset: string,
  location: Location,
  payload: Record<string, unknown>,
) {
  const email = caller.user.email;
  const doc = {
    ...payload,
    timestamp: deps.now().getTime() / 1000,
    dataset,
    location: [location.x, location.y, location.z],
    locationkey: locationKey(location),
    email,
  };
  const bytes = Buffer.byteLength(JSON.stringify(doc));
  if (bytes > MAX_DOCUMENT_BYTES) {
    throw new ApiError(
      "payload_too_large",
      `The annotation is ${bytes} bytes; the limit is ${MAX_DOCUMENT_BYTES}`,
    );
  }
  const stableId = createHash("sha256")
    .update(JSON.stringify([email, dataset, doc.locationkey]))
    .digest("base64url")
    .slice(0, 20);
  await deps.db.runTransaction(async (tx) => {
    const snap = await tx.get(atLocation(deps.db, email, dataset, location));
    const [first, ...rest] = snap.docs;
    if (!first) {
      const cap = deps.config.userStorageCaps.annotationsv1;
      const owned = v1Annotations(deps.db).where("email", "==", email).where("dataset", "==", dataset);
      await assertRoom(
        owned,
        1,
        {
          max: cap,
          key: `annotationsv1 ${dataset} ${email}`,
          refuse: () => overCap("annotationsv1", cap, dataset, email),
          counts: deps.get(capCounts),
          nowMs: deps.now().getTime(),
        },
        tx,
      );
    }
    tx.set(first?.ref ?? v1Annotations(deps.db).doc(stableId), doc);
    for (const dup of rest) tx.delete(dup.ref);
  });
}

/** Deletes the caller's annotation at a location (every copy of it). Idempotent. */
export async function deleteV1(
  deps: Needs,
  caller: Caller,
  dataset: string,
  location: Location,
): Promise<void> {
  await deps.db.runTransaction(async (tx) => {
    const snap = await tx.get(atLocation(deps.db, caller.user.email, dataset, location));
    for (const doc of snap.docs) tx.delete(doc.ref);
  });
}
