/**
 * Object metadata, signed URLs, uploads, listings and range reads over the real Cloud Storage
 * client. Everything above this module sees plain `ObjectInfo` records, never client types.
 */
import type { FileMetadata, Storage } from "@google-cloud/storage";

export interface ObjectInfo {
  bucket: string;
  name: string;
  size: number;
  contentType: string;
  /** Decimal string: generations exceed 2^53. */
  generation: string;
  metageneration: string;
  /** Base64 MD5 of the content; absent for composite objects. */
  md5: string | null;
  /** The HTTP entity tag Cloud Storage's XML API serves for the same bytes. */
  etag: string;
  /** ISO 8601. */
  updated: string;
  contentEncoding: string | null;
}

export function toObjectInfo(bucket: string, meta: FileMetadata): ObjectInfo {
  const md5 = meta.md5Hash ?? null;
  const generation = String(meta.generation ?? "0");
  return {
    bucket,
    name: meta.name ?? "",
    size: Number(meta.size ?? 0),
    contentType: meta.contentType ?? "application/octet-stream",
    generation,
    metageneration: String(meta.metageneration ?? "1"),
    md5,
    // The XML API's ETag is the hex MD5 for simple objects; clients compare it with what a
    // direct read of the signed URL returns, so it has to be the same value.
    etag: md5 ? `"${Buffer.from(md5, "base64").toString("hex")}"` : `"${generation}"`,
    updated: new Date(meta.updated ?? meta.timeCreated ?? 0).toISOString(),
    contentEncoding: meta.contentEncoding ?? null,
  };
}

function isNotFound(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === 404;
}

/** The object's current metadata, or undefined when it does not exist. */
export async function statObject(
  storage: Storage,
  bucket: string,
  name: string,
): Promise<ObjectInfo | undefined> {
  try {
    const [meta] = await storage.bucket(bucket).file(name).getMetadata();
    return toObjectInfo(bucket, meta);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * A V4 URL that reads exactly this generation: an overwrite after signing cannot mix new bytes
 * into a reader's cached chunks. Cloud Storage accepts HEAD on a URL signed for GET.
 */
export async function signRead(storage: Storage, object: ObjectInfo, expires: Date): Promise<string> {
  const [url] = await storage
    .bucket(object.bucket)
    .file(object.name)
    .getSignedUrl({
      version: "v4",
      action: "read",
      expires,
      queryParams: { generation: object.generation },
    });
  return url;
}

export interface UploadOptions {
  contentType?: string | undefined;
  /** The browser origin that will send the chunks; Cloud Storage answers CORS for it. */
  origin?: string | undefined;
}

/** Starts a resumable upload session; whoever holds the session URL can upload to that one name. */
export async function startResumableUpload(
  storage: Storage,
  bucket: string,
  name: string,
  options: UploadOptions,
): Promise<string> {
  const [uri] = await storage
    .bucket(bucket)
    .file(name)
    .createResumableUpload({
      ...(options.origin && { origin: options.origin }),
      ...(options.contentType && { metadata: { contentType: options.contentType } }),
    });
  return uri;
}

/** Every object under `prefix`, a page at a time, in name order. */
export async function* listObjects(
  storage: Storage,
  bucket: string,
  prefix: string,
  pageSize = 1000,
): AsyncGenerator<ObjectInfo[]> {
  let pageToken: string | undefined;
  do {
    const [files, next] = await storage.bucket(bucket).getFiles({
      prefix,
      autoPaginate: false,
      maxResults: pageSize,
      ...(pageToken && { pageToken }),
    });
    yield files.map((f) => toObjectInfo(bucket, f.metadata));
    pageToken = (next as { pageToken?: string } | null)?.pageToken;
  } while (pageToken);
}

/** Reads bytes [start, end] (inclusive) of one generation. */
export type RangeRead = (start: number, end: number) => Promise<Buffer>;

export function rangeReader(
  storage: Storage,
  object: Pick<ObjectInfo, "bucket" | "name" | "generation">,
): RangeRead {
  const file = storage.bucket(object.bucket).file(object.name, { generation: object.generation });
  return async (start, end) => (await file.download({ start, end, validation: false }))[0];
}

/** The whole object (one generation), for small files such as metadata.json. */
export async function readObject(
  storage: Storage,
  object: Pick<ObjectInfo, "bucket" | "name" | "generation">,
): Promise<Buffer> {
  const file = storage.bucket(object.bucket).file(object.name, { generation: object.generation });
  return (await file.download())[0];
}
