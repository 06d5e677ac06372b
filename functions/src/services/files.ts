/**
 * Large files: where a dataset's files live, and short-lived V4 signed URLs so that browsers read
 * Cloud Storage directly with range requests. The functions check who may read and hand out URLs;
 * they never proxy the bytes (that would double egress and tie up an instance per chunk).
 */
import { ApiError, badRequest, notFound, unavailable } from "../errors.js";
import { storageClient } from "./clients.js";
import { provide, type Root } from "./root.js";
import { relativePath, type Credentials, type SignedFile } from "../schemas/files.js";
import { signRead, startResumableUpload, statObject, type ObjectInfo } from "../storage/objects.js";
import { downscoper, READ_ROLE, WRITE_ROLE } from "../storage/downscope.js";

/** What this service needs of the composition root. */
type Needs = Pick<Root, "config" | "datasets" | "now" | "get" | "log">;

export interface FileLocation {
  dataset: string;
  bucket: string;
  /** Empty or ending in "/". */
  prefix: string;
}

/** Turns a dataset's `files` field into a bucket and prefix; 404 when the dataset has none. */
export function locationOf(
  dataset: string,
  files: { bucket?: string | undefined; prefix?: string | undefined } | undefined,
  defaultBucket: string,
): FileLocation {
  if (!files) throw notFound(`Dataset ${dataset} has no files`);
  const bucket = files.bucket ?? defaultBucket;
  if (!bucket) throw unavailable(`Dataset ${dataset} names no bucket and FILES_BUCKET is not set`);
  let prefix = files.prefix ?? `${dataset}/`;
  prefix = prefix.replace(/^\/+/, "");
  if (prefix && !prefix.endsWith("/")) prefix += "/";
  return { dataset, bucket, prefix };
}

export async function fileLocation(deps: Needs, dataset: string): Promise<FileLocation> {
  const stored = await deps.datasets.get(dataset);
  if (!stored) throw notFound(`Dataset ${dataset} does not exist`);
  return locationOf(dataset, stored.files, deps.config.filesBucket);
}

/** Checks a client-supplied path and returns the object name; it can never leave the prefix. */
export function objectName(location: FileLocation, path: string): string {
  const parsed = relativePath.safeParse(path);
  if (!parsed.success)
    throw badRequest(`Invalid file path ${JSON.stringify(path)}: ${parsed.error.issues[0]?.message}`);
  return location.prefix + parsed.data;
}

async function describe(deps: Needs, location: FileLocation, path: string): Promise<ObjectInfo> {
  const name = objectName(location, path);
  const info = await statObject(deps.get(storageClient), location.bucket, name);
  if (!info) throw notFound(`No file ${path} in dataset ${location.dataset}`);
  return info;
}

/** What HEAD answers: the headers a lazy HDF5 reader needs. */
export async function headFile(deps: Needs, dataset: string, path: string): Promise<ObjectInfo> {
  return describe(deps, await fileLocation(deps, dataset), path);
}

function signable(info: ObjectInfo, path: string): void {
  // Decompressive transcoding ignores Range and drops Content-Length: a lazy reader would then
  // download the whole object, so such objects are refused rather than signed.
  if (info.contentEncoding === "gzip") {
    throw new ApiError(
      "failed_precondition",
      `${path} is stored with Content-Encoding: gzip, which range reads cannot use`,
    );
  }
}

async function sign(deps: Needs, info: ObjectInfo, path: string): Promise<SignedFile> {
  signable(info, path);
  const expires = new Date(deps.now().getTime() + deps.config.signedUrlSeconds * 1000);
  return {
    path,
    url: await signRead(deps.get(storageClient), info, expires),
    size: info.size,
    etag: info.etag,
    generation: info.generation,
    contentType: info.contentType,
    expires: expires.toISOString(),
  };
}

export async function signFile(deps: Needs, dataset: string, path: string): Promise<SignedFile> {
  const location = await fileLocation(deps, dataset);
  return sign(deps, await describe(deps, location, path), path);
}

/** Signs several files at once; paths with no object are reported, not fatal. */
export async function signFiles(
  deps: Needs,
  dataset: string,
  paths: string[],
): Promise<{ files: SignedFile[]; missing: string[] }> {
  const location = await fileLocation(deps, dataset);
  const unique = [...new Set(paths)];
  const names = unique.map((p) => objectName(location, p));
  const storage = deps.get(storageClient);
  const infos = await Promise.all(names.map((n) => statObject(storage, location.bucket, n)));
  const files: SignedFile[] = [];
  const missing: string[] = [];
  for (const [i, info] of infos.entries()) {
    if (info) files.push(await sign(deps, info, unique[i]!));
    else missing.push(unique[i]!);
  }
  return { files, missing };
}

/** How long a redirect to a signed URL may be cached: well inside the URL's lifetime. */
export function redirectMaxAge(signedUrlSeconds: number): number {
  return Math.max(0, Math.min(300, Math.floor(signedUrlSeconds / 4)));
}

export async function createUpload(
  deps: Needs,
  dataset: string,
  path: string,
  options: { contentType?: string | undefined; origin?: string | undefined },
): Promise<{ path: string; bucket: string; object: string; uploadUrl: string }> {
  const location = await fileLocation(deps, dataset);
  const name = objectName(location, path);
  const uploadUrl = await startResumableUpload(deps.get(storageClient), location.bucket, name, options);
  return { path, bucket: location.bucket, object: name, uploadUrl };
}

/** The instance's token exchanger (one DownscopedClient per boundary, see storage/downscope.ts). */
export const storageDownscoper = provide("storage-downscoper", (root) => downscoper(root.config));

/**
 * A short-lived Cloud Storage token limited to the dataset's files (or a folder of them), so a
 * browser reads zarr chunks straight from Cloud Storage with no function call per chunk. Read
 * tokens may get and list objects; write tokens may also create new objects (never overwrite or
 * delete) and need a folder. The caller's permission (can_read, and can_write_others for write)
 * is checked by the route and the handler before this runs.
 */
export async function storageCredentials(
  deps: Needs,
  dataset: string,
  access: "read" | "write",
  folder: string | undefined,
): Promise<Credentials> {
  const location = await fileLocation(deps, dataset);
  if (access === "write" && folder === undefined)
    throw badRequest("A write token needs a prefix: the folder of the dataset to upload into");
  const prefix = folder === undefined ? location.prefix : `${objectName(location, folder)}/`;
  const roles = access === "write" ? [READ_ROLE, WRITE_ROLE] : [READ_ROLE];
  let minted;
  try {
    minted = await deps.get(storageDownscoper)(location.bucket, [{ roles, prefix }]);
  } catch (err) {
    deps.log.error("files.credentials: token exchange failed", { error: String(err) });
    throw unavailable("Cloud Storage credentials are unavailable right now; try again");
  }
  const { token, expiresAt } = minted;
  return {
    access_token: token,
    token_type: "Bearer",
    expires_at: expiresAt.toISOString(),
    access,
    bucket: location.bucket,
    prefix,
    storage_url: deps.config.storageApiEndpoint || "https://storage.googleapis.com",
  };
}
