/**
 * Image-signature search (/v2/signatures): the dataset name and point a caller sends, the
 * `info.json` metadata stored beside each dataset's signature blocks, and the response shapes.
 */
import { z } from "zod";

/**
 * A dataset name that may name BigQuery and Cloud Storage resources. BigQuery dataset ids allow
 * only letters, digits and underscores, so nothing else can ever be part of a table name.
 */
export const signatureDatasetSchema = z
  .string()
  .regex(/^[A-Za-z0-9_]{1,64}$/, { error: "dataset must be 1-64 letters, digits or underscores" });

/** Block records store coordinates as uint32, so only those can be looked up. */
const coordinate = z.coerce
  .number({ error: "must be an integer" })
  .int({ error: "must be an integer" })
  .min(0, { error: "must not be negative" })
  .max(2 ** 32 - 1, { error: "must fit in uint32" });

/** `?x=&y=&z=` of both signature routes. */
export const signaturePointQuerySchema = z.object({ x: coordinate, y: coordinate, z: coordinate });
export type SignaturePointQuery = z.output<typeof signaturePointQuerySchema>;

export type Point = [number, number, number];

/** A 64-bit integer written as a decimal string (or already a bigint). */
const int64 = z.union([z.bigint(), z.string().regex(/^-?\d{1,20}$/)]).transform((v) => BigInt(v));

/**
 * `gs://{SIG_BUCKET}/{dataset}/info.json`, written by the ingest pipeline. The `ham_i` masks are
 * 64-bit; clio reads them with `int(...)`, so both JSON numbers and decimal strings occur. Numbers
 * are turned into strings before JSON.parse (see `parseSignatureInfo`) so no bit is lost.
 */
export const signatureInfoSchema = z.looseObject({
  block_size: z.number().int().positive(),
  ham_0: int64,
  ham_1: int64,
  ham_2: int64,
  ham_3: int64,
});
export type SignatureInfo = z.output<typeof signatureInfoSchema>;

export const atLocationResponseSchema = z.object({
  point: z.tuple([z.number().int(), z.number().int(), z.number().int()]),
  /** The int64 signature in decimal; a string because JSON numbers lose precision past 2^53. */
  signature: z.string(),
});
export type AtLocationResponse = z.output<typeof atLocationResponseSchema>;

export const signatureMatchSchema = z.object({
  point: z.tuple([z.number().int(), z.number().int(), z.number().int()]),
  /** Hamming distance to the query signature, 0-7. */
  dist: z.number().int(),
  /** 1 - dist / 8. */
  score: z.number(),
});
export type SignatureMatch = z.output<typeof signatureMatchSchema>;

export const likeLocationResponseSchema = z.object({
  matches: z.array(signatureMatchSchema),
  /** Present, as in clio, when nothing matched. */
  message: z.string().optional(),
});
export type LikeLocationResponse = z.output<typeof likeLocationResponseSchema>;
