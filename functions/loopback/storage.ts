/**
 * Loopback Cloud Storage server for tests and `npm start`. The real `@google-cloud/storage` client
 * talks to it through `apiEndpoint` or `STORAGE_EMULATOR_HOST=http://127.0.0.1:PORT`, and browsers
 * read it through V4 signed URLs.
 *
 * Implemented faithfully (as GCS answers, for these requests):
 * - JSON API, under `/storage/v1`, `/download/storage/v1` and the bare `/b/...` base that
 *   STORAGE_EMULATOR_HOST produces: objects get (metadata; `alt=media` with byte ranges), list
 *   (prefix, delimiter → prefixes, maxResults/pageToken, startOffset/endOffset), patch/update of
 *   metadata, delete, rewriteTo/copyTo (single call), bucket get. Object resources carry size,
 *   generation and metageneration as strings, md5Hash and crc32c in base64, etag, timestamps,
 *   custom metadata. Error bodies are `{error:{code,message,errors:[{reason}]}}`.
 * - Uploads: `uploadType=media|multipart|resumable`; resumable sessions take chunks with
 *   `Content-Range` (`a-b/total`, `a-b/*`, `a-* /total`, `* /total` status queries), answer 308 with
 *   `Range` until complete, then 200 with the object; `X-Goog-Hash` on the final chunk is checked.
 * - Preconditions: ifGenerationMatch (0 = must not exist), ifGenerationNotMatch,
 *   ifMetagenerationMatch/NotMatch on writes, patch and delete (JSON query or `x-goog-if-*` XML
 *   headers) → 412; `generation=` on every read returns that generation's bytes.
 * - XML path-style API used by signed URLs: GET/HEAD/PUT/DELETE `/:bucket/:object` (with
 *   `?generation=`), `POST` with `x-goog-resumable: start` → 201 + Location session URL. HEAD is 200
 *   with Content-Length, Accept-Ranges, ETag, Last-Modified, Content-Type and no body. Ranges:
 *   `bytes=a-b`, `a-`, `-n` → 206 + Content-Range, unsatisfiable → 416 with `bytes * /size`.
 * - V4 signature verification for any request carrying `X-Goog-Signature` (see
 *   storage-signature.ts); refusals are 403 with a GCS-style XML error body.
 * - CORS: preflight answered for any origin; responses expose Content-Length, Content-Range,
 *   Accept-Ranges, ETag, Location and the x-goog-* headers.
 *
 * - Downscoped tokens (`downscoped`, from the loopback STS of sts.ts): a Bearer token the STS
 *   issued is held to its Credential Access Boundary on every object request, as GCS does: outside
 *   the boundary's bucket, permissions or condition → 403 AccessDenied; expired or unknown → 401.
 *
 * Deliberately different from GCS: no IAM for other callers (JSON API requests need no credentials; XML requests
 * need a valid signature or an Authorization header unless `anonymousReads`), buckets exist
 * implicitly, old generations stay readable without object versioning being enabled, an expired
 * signed URL is a 403 (GCS says 400), no composite objects, no ACLs, no gzip transcoding, no
 * multi-range responses (a multi-range request gets the whole object).
 */
import crypto from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { Storage } from "@google-cloud/storage";
import type { DownscopedTokens, StoragePermission } from "./sts.js";
import { SignatureError, encodePath, verifyV4 } from "./storage-signature.js";
import {
  ObjectStore,
  StorageError,
  crc32cBase64,
  md5Base64,
  type ObjectMeta,
  type Preconditions,
  type StoredObject,
} from "./storage-store.js";

export { crc32cBase64 } from "./storage-store.js";

export interface StorageServerOptions {
  port?: number;
  host?: string;
  /** Persist objects under this directory (and load them at start); otherwise memory only. */
  rootDir?: string;
  /** Service accounts whose V4 signatures are accepted: client_email → public key PEM. */
  signerPublicKeys?: Record<string, string>;
  /** Let unsigned, unauthenticated XML (path-style) requests read and write, like a public bucket. */
  anonymousReads?: boolean;
  /** The clock signed URLs are checked against (ms since epoch); tests move it to expire URLs. */
  now?: () => number;
  /** Downscoped tokens to enforce (the loopback STS); other Bearer tokens keep full access. */
  downscoped?: DownscopedTokens;
}

export interface StorageServerStats {
  requests: number;
  /** Response body bytes of object downloads (GET with or without Range). */
  bytesServed: number;
}

export interface StorageServer {
  /** `http://127.0.0.1:PORT`: the apiEndpoint / STORAGE_EMULATOR_HOST value. */
  url: string;
  port: number;
  close(): Promise<void>;
  /** Deletes every object and upload session. */
  clear(): void;
  /** Adds (or replaces) a signer whose V4 signatures are accepted. */
  addSigner(clientEmail: string, publicKeyPem: string): void;
  stats(): StorageServerStats;
  resetStats(): void;
  /** Direct access for tests: the live object (or a given generation), or undefined. */
  getObject(bucket: string, name: string, generation?: string): StoredObject | undefined;
}

interface UploadSession {
  bucket: string;
  name: string;
  meta: ObjectMeta;
  cond: Preconditions;
  chunks: Buffer[];
  received: number;
  total?: number;
  result?: StoredObject;
  xml: boolean;
}

const EXPOSED_HEADERS = [
  "Content-Length",
  "Content-Range",
  "Content-Type",
  "Accept-Ranges",
  "ETag",
  "Last-Modified",
  "Location",
  "Range",
  "x-goog-generation",
  "x-goog-metageneration",
  "x-goog-hash",
  "x-goog-stored-content-length",
  "x-goog-stored-content-encoding",
].join(", ");

const JSON_OBJECT =
  /^\/(?:storage\/v1\/|download\/storage\/v1\/)?b\/([^/]+)\/o(?:\/([^/]+)(?:\/(rewriteTo|copyTo)\/b\/([^/]+)\/o\/([^/]+))?)?\/?$/;
const JSON_BUCKET = /^\/(?:storage\/v1\/)?b\/([^/]+)\/?$/;
const UPLOAD = /^\/upload\/storage\/v1\/b\/([^/]+)\/o\/?$/;

function jsonResource(o: StoredObject, base: string) {
  const enc = encodeURIComponent(o.name);
  return {
    kind: "storage#object",
    id: `${o.bucket}/${o.name}/${o.generation}`,
    selfLink: `${base}/storage/v1/b/${o.bucket}/o/${enc}`,
    mediaLink: `${base}/download/storage/v1/b/${o.bucket}/o/${enc}?generation=${o.generation}&alt=media`,
    name: o.name,
    bucket: o.bucket,
    generation: o.generation,
    metageneration: String(o.metageneration),
    contentType: o.contentType,
    storageClass: "STANDARD",
    size: String(o.size),
    md5Hash: o.md5Hash,
    crc32c: o.crc32c,
    etag: jsonEtag(o),
    timeCreated: o.timeCreated,
    updated: o.updated,
    timeStorageClassUpdated: o.timeCreated,
    ...(o.cacheControl !== undefined && { cacheControl: o.cacheControl }),
    ...(o.contentDisposition !== undefined && { contentDisposition: o.contentDisposition }),
    ...(o.contentEncoding !== undefined && { contentEncoding: o.contentEncoding }),
    ...(o.contentLanguage !== undefined && { contentLanguage: o.contentLanguage }),
    ...(o.metadata !== undefined && { metadata: o.metadata }),
  };
}

// GCS JSON etags are opaque and change with generation and metageneration.
const jsonEtag = (o: StoredObject) => Buffer.from(`${o.generation}/${o.metageneration}`).toString("base64");
const xmlEtag = (o: StoredObject) => `"${Buffer.from(o.md5Hash, "base64").toString("hex")}"`;

function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function xmlError(code: string, message: string, details: Record<string, string> = {}): string {
  const extra = Object.entries(details)
    .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
    .join("");
  return `<?xml version='1.0' encoding='UTF-8'?><Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message>${extra}</Error>`;
}

type Range = { start: number; end: number } | "unsatisfiable" | undefined;

/** Parses a single `bytes=` range against a size; undefined means "serve the whole object". */
export function parseRange(header: string | undefined, size: number): Range {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return { start, end };
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(",") : v;
}

function jsonPreconditions(q: URLSearchParams): Preconditions {
  const out: Preconditions = {};
  for (const k of [
    "ifGenerationMatch",
    "ifGenerationNotMatch",
    "ifMetagenerationMatch",
    "ifMetagenerationNotMatch",
  ] as const) {
    const v = q.get(k);
    if (v !== null) out[k] = v;
  }
  return out;
}

function xmlPreconditions(req: http.IncomingMessage): Preconditions {
  const out: Preconditions = {};
  const map = {
    "x-goog-if-generation-match": "ifGenerationMatch",
    "x-goog-if-generation-not-match": "ifGenerationNotMatch",
    "x-goog-if-metageneration-match": "ifMetagenerationMatch",
    "x-goog-if-metageneration-not-match": "ifMetagenerationNotMatch",
  } as const;
  for (const [h, k] of Object.entries(map)) {
    const v = header(req, h);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function xmlMeta(req: http.IncomingMessage): ObjectMeta {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (k.startsWith("x-goog-meta-") && typeof v === "string") metadata[k.slice("x-goog-meta-".length)] = v;
  }
  const meta: ObjectMeta = { contentType: header(req, "content-type") ?? "application/octet-stream" };
  const cc = header(req, "cache-control");
  if (cc) meta.cacheControl = cc;
  const cd = header(req, "content-disposition");
  if (cd) meta.contentDisposition = cd;
  if (Object.keys(metadata).length > 0) meta.metadata = metadata;
  return meta;
}

/** Splits a multipart/related body into its parts' bodies. */
function multipartParts(body: Buffer, contentType: string): Buffer[] {
  const m = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!m) throw new StorageError(400, "invalid", "InvalidArgument", "Missing multipart boundary.");
  const delim = Buffer.from(`--${m[1]}`);
  const parts: Buffer[] = [];
  let pos = body.indexOf(delim);
  while (pos >= 0) {
    const start = pos + delim.length;
    if (body.subarray(start, start + 2).toString() === "--") break;
    const next = body.indexOf(delim, start);
    if (next < 0) break;
    const part = body.subarray(start, next);
    const sep = part.indexOf("\r\n\r\n");
    let content = sep >= 0 ? part.subarray(sep + 4) : Buffer.alloc(0);
    if (content.subarray(-2).toString() === "\r\n") content = content.subarray(0, -2);
    parts.push(content);
    pos = next;
  }
  return parts;
}

function checkHashes(req: http.IncomingMessage, data: Buffer): void {
  const h = header(req, "x-goog-hash");
  if (!h) return;
  for (const item of h.split(",")) {
    const eq = item.indexOf("=");
    const kind = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    const actual = kind === "md5" ? md5Base64(data) : kind === "crc32c" ? crc32cBase64(data) : value;
    if (actual !== value) {
      throw new StorageError(
        400,
        "invalid",
        "BadDigest",
        `Provided ${kind} hash "${value}" doesn't match calculated hash "${actual}".`,
      );
    }
  }
}

export async function startStorageServer(opts: StorageServerOptions = {}): Promise<StorageServer> {
  const store = new ObjectStore(opts.rootDir);
  const signers: Record<string, string> = { ...(opts.signerPublicKeys ?? {}) };
  const sessions = new Map<string, UploadSession>();
  const stats: StorageServerStats = { requests: 0, bytesServed: 0 };

  const baseOf = (req: http.IncomingMessage) => `http://${req.headers.host ?? "127.0.0.1"}`;

  /** Holds a downscoped Bearer token to its boundary; other credentials pass (see above). */
  function guard(
    req: http.IncomingMessage,
    bucket: string,
    name: string | undefined,
    permission: StoragePermission,
  ): void {
    const bearer = /^Bearer\s+(\S+)$/i.exec(header(req, "authorization") ?? "")?.[1];
    if (!bearer || !opts.downscoped) return;
    const decision = opts.downscoped.decide(bearer, bucket, name, permission);
    if (decision === undefined || decision === "allow") return;
    if (decision === "expired" || decision === "unknown")
      throw new StorageError(401, "authError", "AuthenticationRequired", "Invalid Credentials");
    const what = name === undefined ? `the Google Cloud Storage bucket` : `the Google Cloud Storage object`;
    throw new StorageError(
      403,
      "forbidden",
      "AccessDenied",
      `Caller does not have ${permission} access to ${what}. Permission '${permission}' denied on resource (or it may not exist).`,
    );
  }

  /** Creating an object needs create, and replacing a live one delete as well (as in GCS). */
  function guardWrite(req: http.IncomingMessage, bucket: string, name: string): void {
    guard(req, bucket, name, "storage.objects.create");
    if (existing(bucket, name)) guard(req, bucket, name, "storage.objects.delete");
  }

  function existing(bucket: string, name: string): boolean {
    try {
      store.get(bucket, name);
      return true;
    } catch {
      return false;
    }
  }

  function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
    const buf = Buffer.from(JSON.stringify(body));
    res.writeHead(status, {
      "Content-Type": "application/json; charset=UTF-8",
      "Content-Length": buf.length,
    });
    res.end(buf);
  }

  function objectHeaders(o: StoredObject): Record<string, string | number> {
    const h: Record<string, string | number> = {
      "Content-Type": o.contentType ?? "application/octet-stream",
      "Accept-Ranges": "bytes",
      ETag: xmlEtag(o),
      "Last-Modified": new Date(o.updated).toUTCString(),
      "Cache-Control": o.cacheControl ?? "private, max-age=0",
      "x-goog-generation": o.generation,
      "x-goog-metageneration": String(o.metageneration),
      "x-goog-stored-content-length": String(o.size),
      "x-goog-stored-content-encoding": o.contentEncoding ?? "identity",
      "x-goog-hash": `crc32c=${o.crc32c},md5=${o.md5Hash}`,
      "x-goog-storage-class": "STANDARD",
    };
    if (o.contentDisposition) h["Content-Disposition"] = o.contentDisposition;
    if (o.contentEncoding) h["Content-Encoding"] = o.contentEncoding;
    for (const [k, v] of Object.entries(o.metadata ?? {})) h[`x-goog-meta-${k}`] = v;
    return h;
  }

  function sendMedia(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    o: StoredObject,
    head: boolean,
  ): void {
    const headers = objectHeaders(o);
    const range = head ? undefined : parseRange(header(req, "range"), o.size);
    if (range === "unsatisfiable") {
      const body = Buffer.from(xmlError("InvalidRange", "The requested range cannot be satisfied."));
      res.writeHead(416, {
        "Content-Range": `bytes */${o.size}`,
        "Content-Type": "application/xml; charset=UTF-8",
        "Content-Length": body.length,
      });
      res.end(body);
      return;
    }
    if (range) {
      const slice = o.data.subarray(range.start, range.end + 1);
      res.writeHead(206, {
        ...headers,
        "Content-Length": slice.length,
        "Content-Range": `bytes ${range.start}-${range.end}/${o.size}`,
      });
      stats.bytesServed += slice.length;
      res.end(slice);
      return;
    }
    res.writeHead(200, { ...headers, "Content-Length": o.size });
    if (head) {
      res.end();
      return;
    }
    stats.bytesServed += o.size;
    res.end(o.data);
  }

  function newSession(s: Omit<UploadSession, "chunks" | "received">): string {
    const id = crypto.randomBytes(18).toString("base64url");
    sessions.set(id, { ...s, chunks: [], received: 0 });
    return id;
  }

  async function handleSessionPut(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    id: string,
  ): Promise<void> {
    const session = sessions.get(id);
    const body = await readBody(req);
    if (!session) throw new StorageError(404, "notFound", "NoSuchUpload", "No such upload session.");
    if (session.result) {
      sendJson(res, 200, jsonResource(session.result, baseOf(req)));
      return;
    }
    const cr = header(req, "content-range");
    let final = false;
    if (!cr) {
      session.chunks.push(body);
      session.received += body.length;
      final = true;
    } else {
      const m = /^bytes (?:(\d+)-(\d+|\*)|\*)\/(\d+|\*)$/.exec(cr.trim());
      if (!m) throw new StorageError(400, "invalid", "InvalidArgument", `Invalid Content-Range: ${cr}`);
      if (m[3] !== "*") session.total = Number(m[3]);
      if (m[1] !== undefined) {
        const start = Number(m[1]);
        if (start > session.received) {
          throw new StorageError(
            400,
            "invalid",
            "InvalidArgument",
            `Chunk starts at ${start}, expected ${session.received}.`,
          );
        }
        // A resent chunk may overlap what we already hold; keep only the new tail.
        const fresh = body.subarray(session.received - start);
        session.chunks.push(fresh);
        session.received += fresh.length;
        if (m[2] === "*") final = true;
      }
      if (session.total !== undefined && session.received >= session.total) final = true;
    }
    if (final) {
      if (session.total !== undefined && session.received !== session.total) {
        throw new StorageError(
          400,
          "invalid",
          "InvalidArgument",
          `Upload ended at ${session.received} of ${session.total} bytes.`,
        );
      }
      const data = Buffer.concat(session.chunks);
      checkHashes(req, data);
      session.result = store.put(session.bucket, session.name, data, session.meta, session.cond);
      session.chunks = [];
      if (session.xml) {
        res.writeHead(200, { ...objectHeaders(session.result), "Content-Length": 0 });
        res.end();
      } else {
        sendJson(res, 200, jsonResource(session.result, baseOf(req)));
      }
      return;
    }
    const h: Record<string, string | number> = { "Content-Length": 0 };
    if (session.received > 0) h.Range = `bytes=0-${session.received - 1}`;
    res.writeHead(308, h);
    res.end();
  }

  async function handleUpload(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    bucket: string,
    q: URLSearchParams,
  ): Promise<void> {
    const type = q.get("uploadType") ?? "media";
    const cond = jsonPreconditions(q);
    const body = await readBody(req);
    if (type === "media") {
      const name = q.get("name");
      if (!name) throw new StorageError(400, "required", "InvalidArgument", "Required parameter: name");
      guardWrite(req, bucket, name);
      checkHashes(req, body);
      const o = store.put(bucket, name, body, { contentType: header(req, "content-type") }, cond);
      sendJson(res, 200, jsonResource(o, baseOf(req)));
      return;
    }
    if (type === "multipart") {
      const parts = multipartParts(body, header(req, "content-type") ?? "");
      if (parts.length < 2)
        throw new StorageError(
          400,
          "invalid",
          "InvalidArgument",
          "A multipart upload needs metadata and media parts.",
        );
      const meta = JSON.parse(parts[0]!.toString("utf8") || "{}") as ObjectMeta & { name?: string };
      const name = meta.name ?? q.get("name");
      if (!name) throw new StorageError(400, "required", "InvalidArgument", "Required parameter: name");
      guardWrite(req, bucket, name);
      checkHashes(req, parts[1]!);
      const o = store.put(bucket, name, parts[1]!, meta, cond);
      sendJson(res, 200, jsonResource(o, baseOf(req)));
      return;
    }
    if (type === "resumable") {
      const meta = (body.length > 0 ? JSON.parse(body.toString("utf8")) : {}) as ObjectMeta & {
        name?: string;
      };
      const name = meta.name ?? q.get("name");
      if (!name) throw new StorageError(400, "required", "InvalidArgument", "Required parameter: name");
      guardWrite(req, bucket, name);
      meta.contentType ??= header(req, "x-upload-content-type");
      store.check(bucket, name, cond);
      const total = header(req, "x-upload-content-length");
      const id = newSession({
        bucket,
        name,
        meta,
        cond,
        xml: false,
        ...(total !== undefined && { total: Number(total) }),
      });
      const location = `${baseOf(req)}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
      res.writeHead(200, { Location: location, "X-GUploader-UploadID": id, "Content-Length": 0 });
      res.end();
      return;
    }
    throw new StorageError(400, "invalid", "InvalidArgument", `Unsupported uploadType: ${type}`);
  }

  async function handleJsonObject(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    m: RegExpExecArray,
    q: URLSearchParams,
  ): Promise<void> {
    const bucket = decodeURIComponent(m[1]!);
    const method = req.method ?? "GET";
    if (m[2] === undefined) {
      if (method !== "GET")
        throw new StorageError(405, "methodNotAllowed", "MethodNotAllowed", "Method not allowed.");
      guard(req, bucket, undefined, "storage.objects.list");
      const maxResults = q.get("maxResults");
      const page = store.list(bucket, {
        prefix: q.get("prefix") ?? undefined,
        delimiter: q.get("delimiter") ?? undefined,
        pageToken: q.get("pageToken") ?? undefined,
        maxResults: maxResults ? Number(maxResults) : undefined,
        startOffset: q.get("startOffset") ?? undefined,
        endOffset: q.get("endOffset") ?? undefined,
      });
      const base = baseOf(req);
      sendJson(res, 200, {
        kind: "storage#objects",
        ...(page.nextPageToken && { nextPageToken: page.nextPageToken }),
        ...(page.prefixes.length > 0 && { prefixes: page.prefixes }),
        ...(page.items.length > 0 && { items: page.items.map((o) => jsonResource(o, base)) }),
      });
      return;
    }
    const name = decodeURIComponent(m[2]);
    const generation = q.get("generation") ?? undefined;
    const cond = jsonPreconditions(q);
    if (m[3] !== undefined) {
      await readBody(req);
      const src = store.get(bucket, name, q.get("sourceGeneration") ?? undefined);
      const destBucket = decodeURIComponent(m[4]!);
      const destName = decodeURIComponent(m[5]!);
      guard(req, bucket, name, "storage.objects.get");
      guardWrite(req, destBucket, destName);
      const copied = store.put(destBucket, destName, src.data, src, cond);
      const resource = jsonResource(copied, baseOf(req));
      if (m[3] === "copyTo") sendJson(res, 200, resource);
      else {
        sendJson(res, 200, {
          kind: "storage#rewriteResponse",
          totalBytesRewritten: String(copied.size),
          objectSize: String(copied.size),
          done: true,
          resource,
        });
      }
      return;
    }
    switch (method) {
      case "GET":
      case "HEAD": {
        guard(req, bucket, name, "storage.objects.get");
        const o = store.get(bucket, name, generation);
        if (cond.ifGenerationMatch !== undefined || cond.ifMetagenerationMatch !== undefined)
          store.check(bucket, name, cond);
        if (q.get("alt") === "media") sendMedia(req, res, o, method === "HEAD");
        else sendJson(res, 200, jsonResource(o, baseOf(req)));
        return;
      }
      case "PATCH":
      case "PUT": {
        guard(req, bucket, name, "storage.objects.update");
        const body = await readBody(req);
        const patch = (body.length > 0 ? JSON.parse(body.toString("utf8")) : {}) as ObjectMeta;
        const o = store.patch(bucket, name, patch, cond);
        sendJson(res, 200, jsonResource(o, baseOf(req)));
        return;
      }
      case "DELETE":
        guard(req, bucket, name, "storage.objects.delete");
        store.delete(bucket, name, generation, cond);
        res.writeHead(204);
        res.end();
        return;
      default:
        throw new StorageError(405, "methodNotAllowed", "MethodNotAllowed", "Method not allowed.");
    }
  }

  async function handleXml(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    bucket: string,
    name: string | undefined,
    q: URLSearchParams,
    signedMethod: string | undefined,
  ): Promise<void> {
    const method = req.method ?? "GET";
    if (!signedMethod && !opts.anonymousReads && !req.headers.authorization) {
      throw new StorageError(
        403,
        "forbidden",
        "AccessDenied",
        "Anonymous caller does not have access to this object.",
      );
    }
    if (signedMethod && !(signedMethod === method || (method === "HEAD" && signedMethod === "GET"))) {
      throw new StorageError(
        403,
        "forbidden",
        "SignatureDoesNotMatch",
        "The signed method does not match the request method.",
      );
    }
    if (name === undefined || name === "") {
      throw new StorageError(
        400,
        "invalid",
        "InvalidArgument",
        "Bucket-level XML requests are not supported by this server.",
      );
    }
    const generation = q.get("generation") ?? undefined;
    // A valid signature is the credential of a signed URL; anything else is checked here.
    if (!signedMethod) {
      if (method === "GET" || method === "HEAD") guard(req, bucket, name, "storage.objects.get");
      else if (method === "PUT" || method === "POST") guardWrite(req, bucket, name);
      else if (method === "DELETE") guard(req, bucket, name, "storage.objects.delete");
    }
    switch (method) {
      case "GET":
      case "HEAD":
        sendMedia(req, res, store.get(bucket, name, generation), method === "HEAD");
        return;
      case "PUT": {
        const body = await readBody(req);
        checkHashes(req, body);
        const o = store.put(bucket, name, body, xmlMeta(req), xmlPreconditions(req));
        res.writeHead(200, {
          ETag: xmlEtag(o),
          "x-goog-generation": o.generation,
          "x-goog-hash": `crc32c=${o.crc32c},md5=${o.md5Hash}`,
          "Content-Length": 0,
        });
        res.end();
        return;
      }
      case "POST": {
        await readBody(req);
        if (header(req, "x-goog-resumable") !== "start") {
          throw new StorageError(400, "invalid", "InvalidArgument", "POST needs x-goog-resumable: start.");
        }
        const cond = xmlPreconditions(req);
        store.check(bucket, name, cond);
        const id = newSession({ bucket, name, meta: xmlMeta(req), cond, xml: true });
        const location = `${baseOf(req)}/${bucket}/${encodePath(name, false)}?upload_id=${id}`;
        res.writeHead(201, { Location: location, "X-GUploader-UploadID": id, "Content-Length": 0 });
        res.end();
        return;
      }
      case "DELETE":
        store.delete(bucket, name, generation, xmlPreconditions(req));
        res.writeHead(204);
        res.end();
        return;
      default:
        throw new StorageError(405, "methodNotAllowed", "MethodNotAllowed", "Method not allowed.");
    }
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<"json" | "xml"> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const q = url.searchParams;
    const p = url.pathname;
    const method = req.method ?? "GET";

    const uploadId = q.get("upload_id");
    if (uploadId && method === "PUT") {
      await handleSessionPut(req, res, uploadId);
      return sessions.get(uploadId)?.xml ? "xml" : "json";
    }
    if (uploadId && method === "DELETE") {
      sessions.delete(uploadId);
      res.writeHead(499, { "Content-Length": 0 });
      res.end();
      return "json";
    }
    let m: RegExpExecArray | null;
    if ((m = UPLOAD.exec(p)) && method === "POST") {
      await handleUpload(req, res, decodeURIComponent(m[1]!), q);
      return "json";
    }
    if ((m = JSON_OBJECT.exec(p))) {
      await handleJsonObject(req, res, m, q);
      return "json";
    }
    if ((m = JSON_BUCKET.exec(p)) && method === "GET") {
      const name = decodeURIComponent(m[1]!);
      guard(req, name, undefined, "storage.buckets.get");
      sendJson(res, 200, {
        kind: "storage#bucket",
        id: name,
        name,
        location: "US",
        storageClass: "STANDARD",
        metageneration: "1",
        timeCreated: new Date(0).toISOString(),
        updated: new Date(0).toISOString(),
      });
      return "json";
    }
    const xm = /^\/([^/]+)(?:\/(.*))?$/.exec(p);
    if (!xm) throw new StorageError(404, "notFound", "NoSuchBucket", "Not found.");
    const bucket = decodeURIComponent(xm[1]!);
    const name = xm[2] === undefined ? undefined : decodeURIComponent(xm[2]);
    let signedMethod: string | undefined;
    if (q.has("X-Goog-Signature")) {
      const signed = { method, bucket, object: name, query: q, headers: req.headers };
      signedMethod = verifyV4(signed, signers, (opts.now ?? Date.now)()).signedMethod;
    }
    await handleXml(req, res, bucket, name, q, signedMethod);
    return "xml";
  }

  const server = http.createServer((req, res) => {
    stats.requests++;
    const origin = header(req, "origin");
    res.setHeader("Access-Control-Allow-Origin", origin ?? "*");
    if (origin) res.setHeader("Vary", "Origin");
    res.setHeader("Access-Control-Expose-Headers", EXPOSED_HEADERS);
    if (req.method === "OPTIONS") {
      res.writeHead(200, {
        "Access-Control-Allow-Methods": "GET, HEAD, PUT, POST, DELETE, PATCH, OPTIONS",
        "Access-Control-Allow-Headers": header(req, "access-control-request-headers") ?? "*",
        "Access-Control-Max-Age": "3600",
        "Content-Length": 0,
      });
      res.end();
      return;
    }
    const isXml = !/^\/(storage\/v1|download\/storage\/v1|upload\/storage\/v1|b)\//.test(req.url ?? "");
    route(req, res).catch((err: unknown) => {
      // Let the client finish sending so it reads our status rather than a reset connection.
      req.resume();
      if (res.headersSent) {
        res.destroy();
        return;
      }
      let status = 500;
      let reason = "internalError";
      let code = "InternalError";
      let message = err instanceof Error ? err.message : String(err);
      let details: Record<string, string> = {};
      if (err instanceof StorageError) ({ status, reason, xmlCode: code } = err);
      else if (err instanceof SignatureError) ({ status, code, details } = err);
      else if (err instanceof SyntaxError) [status, reason, code] = [400, "parseError", "InvalidArgument"];
      else console.error("loopback storage: unexpected error", err);
      if (err instanceof SignatureError) message = err.message;
      if (isXml || err instanceof SignatureError) {
        const body = Buffer.from(xmlError(code, message, details));
        res.writeHead(status, {
          "Content-Type": "application/xml; charset=UTF-8",
          "Content-Length": body.length,
        });
        res.end(req.method === "HEAD" ? undefined : body);
      } else {
        sendJson(res, status, {
          error: { code: status, message, errors: [{ message, domain: "global", reason }] },
        });
      }
    });
  });

  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
    clear: () => {
      store.clear();
      sessions.clear();
    },
    addSigner: (email, pem) => {
      signers[email] = pem;
    },
    stats: () => ({ ...stats }),
    resetStats: () => {
      stats.requests = 0;
      stats.bytesServed = 0;
    },
    getObject: (bucket, name, generation) => {
      try {
        return store.get(bucket, name, generation);
      } catch {
        return undefined;
      }
    },
  };
}

const CONTENT_TYPES: Record<string, string> = {
  ".json": "application/json",
  ".txt": "text/plain",
  ".md": "text/markdown",
  ".csv": "text/csv",
  ".nwb": "application/x-hdf5",
  ".h5": "application/x-hdf5",
  ".hdf5": "application/x-hdf5",
};

/**
 * Uploads every file under `dir` to `bucket`, named `prefix` + its path relative to `dir` (with
 * `/` separators), through the real client. Returns the object names, sorted.
 */
export async function seedBucketFromDir(
  target: string | Storage,
  bucket: string,
  dir: string,
  prefix = "",
): Promise<string[]> {
  const storage =
    typeof target === "string" ? new Storage({ apiEndpoint: target, projectId: "demo-neurofire" }) : target;
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const names: string[] = [];
  for (const e of entries) {
    if (!e.isFile()) continue;
    const full = path.join(e.parentPath, e.name);
    const name = prefix + path.relative(dir, full).split(path.sep).join("/");
    const contentType = CONTENT_TYPES[path.extname(e.name).toLowerCase()] ?? "application/octet-stream";
    await storage
      .bucket(bucket)
      .file(name)
      .save(await readFile(full), { resumable: false, contentType });
    names.push(name);
  }
  return names.sort();
}
