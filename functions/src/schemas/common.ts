/** Small zod building blocks shared by the request schemas of every API group. */
import { z } from "zod";

/** Query-string booleans as clio's clients send them. */
export const queryBool = z.preprocess(
  // Python clients send True/False; clio (FastAPI) accepted any case.
  (v) => (typeof v === "string" ? v.toLowerCase() : v),
  z
    .enum(["true", "false", "1", "0", "yes", "no"], { error: "must be true or false" })
    .transform((v) => v === "true" || v === "1" || v === "yes"),
);

/**
 * A clio dataset id: a Firestore document id that also appears in paths and BigQuery names
 * elsewhere, so the character set is deliberately narrow.
 */
export const datasetId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, {
  error: "dataset ids are 1-128 characters: letters, digits, _ . : - (starting with a letter or digit)",
});

export const email = z
  .email({ error: "must be an email address" })
  .max(254)
  .transform((e) => e.toLowerCase());

/** A role name as stored in clio_users. */
export const roleName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: "invalid role name" });

/** A group name; clio allows spaces (malevnc sends "UK Drosophila Connectomics"). */
export const groupName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[^/]+$/, { error: "group names cannot contain /" });

/** Any JSON object, kept as sent. */
export const jsonObject = z.record(z.string(), z.unknown());

export const MAX_PAGE_SIZE = 1000;

/** Query fields every list endpoint accepts (`limit`, opaque `cursor`); spread into its query schema. */
export const pageQueryShape = {
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
  cursor: z.string().max(4096).optional(),
};
