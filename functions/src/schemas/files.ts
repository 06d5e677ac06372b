/** Request and response shapes of `/v2/files`, and the file-catalog record. */
import { z } from "zod";
import { pageQueryShape } from "./common.js";

/**
 * A file path relative to the dataset's prefix. Refused: absolute paths, `.`/`..` and empty
 * segments, backslashes and control characters, so a path can never leave the prefix.
 */
export const relativePath = z
  .string()
  .min(1, { error: "the path is empty" })
  .max(1000, { error: "paths are at most 1000 characters" })
  .refine((p) => !p.startsWith("/"), { error: "the path must be relative (no leading /)" })
  .refine(
    (p) => !p.includes("\\") && ![...p].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f),
    {
      error: "the path contains a backslash or a control character",
    },
  )
  .refine((p) => p.split("/").every((s) => s !== "" && s !== "." && s !== ".."), {
    error: "the path has an empty, . or .. segment",
  });

export const signedFileSchema = z.object({
  path: z.string(),
  url: z.string(),
  size: z.number().int(),
  etag: z.string(),
  generation: z.string(),
  contentType: z.string(),
  /** ISO 8601: when the URL stops working. */
  expires: z.string(),
});
export type SignedFile = z.infer<typeof signedFileSchema>;

export const fileGetQuerySchema = z.strictObject({
  signed: z.enum(["json"], { error: "signed must be json" }).optional(),
});

export const signBodySchema = z.strictObject({
  paths: z
    .array(relativePath)
    .min(1, { error: "send 1 to 100 paths" })
    .max(100, { error: "send 1 to 100 paths" }),
});

export const signResponseSchema = z.object({
  files: z.array(signedFileSchema),
  /** Requested paths with no object. */
  missing: z.array(z.string()),
});

export const uploadBodySchema = z.strictObject({
  path: relativePath,
  contentType: z
    .string()
    .regex(/^[\w.+-]+\/[\w.+-]+$/, { error: "contentType must be a MIME type like application/x-hdf5" })
    .optional(),
});

export const uploadResponseSchema = z.object({
  path: z.string(),
  bucket: z.string(),
  object: z.string(),
  /** The resumable session: PUT the bytes here (with Content-Range for chunks). */
  uploadUrl: z.string(),
});

export const listQuerySchema = z.strictObject({
  prefix: z.string().max(1000).optional(),
  q: z.string().max(200).optional(),
  deleted: z.enum(["true", "false"]).optional(),
  ...pageQueryShape,
});

export const hdf5HeaderSchema = z.object({
  nwb_version: z.string().nullable(),
  identifier: z.string().nullable(),
  session_description: z.string().nullable(),
  session_start_time: z.string().nullable(),
  subject: z.record(z.string(), z.string()).nullable(),
});

/** One object in the catalog (collection `files_catalog/{dataset}/objects`). */
export const catalogEntrySchema = z.object({
  dataset: z.string(),
  bucket: z.string(),
  /** Relative to the dataset's prefix. */
  path: z.string(),
  /** First path segment when the object sits in a folder, as braingeneers' experiment uuid. */
  experiment: z.string().nullable(),
  size: z.number(),
  contentType: z.string(),
  generation: z.string(),
  metageneration: z.string(),
  md5: z.string().nullable(),
  updated: z.string(),
  deleted: z.boolean(),
  deletedAt: z.string().nullable(),
  /** Parsed metadata.json (kept as text in Firestore, which cannot store nested arrays). */
  metadata: z.unknown().optional(),
  hdf5: hdf5HeaderSchema.nullable().optional(),
  /** Why metadata.json or the HDF5 header could not be read, if so. */
  extractError: z.string().nullable().optional(),
});
export type CatalogEntry = z.infer<typeof catalogEntrySchema>;

/** A folder below the dataset's prefix: a relative path, with or without the trailing "/". */
const folderPath = z
  .string()
  .transform((p) => p.replace(/\/+$/, ""))
  .pipe(relativePath)
  .refine((p) => !/['"]/.test(p), { error: "the prefix must not contain quotes" });

export const credentialsBodySchema = z.strictObject({
  access: z.enum(["read", "write"], { error: 'access must be "read" or "write"' }).default("read"),
  /** Narrows the token to this folder of the dataset; required for write. */
  prefix: folderPath.optional(),
});

export const credentialsResponseSchema = z.object({
  /** An OAuth 2.0 access token for the Cloud Storage APIs: `Authorization: Bearer <token>`. */
  access_token: z.string(),
  token_type: z.literal("Bearer"),
  /** ISO 8601: when the token stops working (at most an hour away). */
  expires_at: z.string(),
  access: z.enum(["read", "write"]),
  bucket: z.string(),
  /** The object-name prefix the token is limited to (ends with "/", or "" for the whole bucket). */
  prefix: z.string(),
  /** Base URL of the Cloud Storage XML API: objects are `${storage_url}/${bucket}/${object}`. */
  storage_url: z.string(),
});
export type Credentials = z.infer<typeof credentialsResponseSchema>;
