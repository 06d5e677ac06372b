/** `/v2/kv`: per-user key-value storage (`clio_keyvalue/{email}/{scope}/{key}`). */
import { z } from "zod";
import { pageQueryShape } from "./common.js";
import { jsonObject, queryBool } from "./common.js";
import { isFirestoreId, storable } from "./storable.js";

/**
 * A Firestore document or collection id as it arrives in a path: express decodes `%2F`, so a `/`
 * here would address a different document; `.`, `..` and `__x__` are reserved by Firestore.
 */
export const firestoreId = z.string().min(1).max(1500).refine(isFirestoreId, {
  error: "must be a Firestore id: no '/', not '.', '..' or '__…__', at most 1500 bytes",
});

export const kvScopeParams = z.object({ scope: firestoreId });
export const kvKeyParams = z.object({ scope: firestoreId, key: firestoreId });

export const kvTimestampQuery = z.strictObject({ timestamp: queryBool.optional() });
export const kvListQuery = z.strictObject({ timestamp: queryBool.optional(), ...pageQueryShape });

/** A stored value: any JSON object (clio's website wraps arrays as `{"array": [...]}`). */
export const kvValueSchema = jsonObject;
export const kvBodySchema = storable("the value");

export const kvScopeResponseSchema = z.record(z.string(), jsonObject);
