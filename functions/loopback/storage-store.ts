/**
 * The object store behind the loopback Cloud Storage server: objects keyed by bucket and name,
 * each with every generation it ever had (so a read pinned to an old generation keeps returning
 * the old bytes after an overwrite or delete, which is what a pinned signed URL relies on).
 * Data stays in memory as Buffers; with a root directory, blobs and an index are also written to
 * disk and loaded again at start.
 */
import crypto from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface ObjectMeta {
  contentType?: string;
  cacheControl?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  metadata?: Record<string, string>;
}

export interface StoredObject extends ObjectMeta {
  bucket: string;
  name: string;
  generation: string;
  metageneration: number;
  size: number;
  md5Hash: string;
  crc32c: string;
  timeCreated: string;
  updated: string;
  data: Buffer;
}

export interface Preconditions {
  ifGenerationMatch?: string;
  ifGenerationNotMatch?: string;
  ifMetagenerationMatch?: string;
  ifMetagenerationNotMatch?: string;
}

/** A failure to render as a GCS error: HTTP status, JSON `reason`, XML `Code`. */
export class StorageError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly xmlCode: string,
    message: string,
  ) {
    super(message);
  }
}

export const notFoundError = (bucket: string, name?: string) =>
  new StorageError(
    404,
    "notFound",
    name === undefined ? "NoSuchBucket" : "NoSuchKey",
    name === undefined ? `The specified bucket does not exist.` : `No such object: ${bucket}/${name}`,
  );

const preconditionFailed = () =>
  new StorageError(
    412,
    "conditionNotMet",
    "PreconditionFailed",
    "At least one of the pre-conditions you specified did not hold.",
  );

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC32C (Castagnoli) as GCS reports it: big-endian, base64. */
export function crc32cBase64(data: Buffer): string {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC32C_TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
  return out.toString("base64");
}

export const md5Base64 = (data: Buffer) => crypto.createHash("md5").update(data).digest("base64");

interface Entry {
  live?: StoredObject;
  versions: Map<string, StoredObject>;
}

interface IndexRecord extends Omit<StoredObject, "data"> {
  blob: string;
  live: boolean;
}

export interface ListOptions {
  prefix?: string;
  delimiter?: string;
  pageToken?: string;
  maxResults?: number;
  startOffset?: string;
  endOffset?: string;
}

export class ObjectStore {
  private readonly buckets = new Map<string, Map<string, Entry>>();
  private lastGeneration = 0;

  constructor(private readonly rootDir?: string) {
    if (rootDir) this.load(rootDir);
  }

  /** GCS generations are microsecond timestamps; keep them strictly increasing. */
  private nextGeneration(): string {
    this.lastGeneration = Math.max(Date.now() * 1000, this.lastGeneration + 1);
    return String(this.lastGeneration);
  }

  private entries(bucket: string): Map<string, Entry> {
    let b = this.buckets.get(bucket);
    if (!b) this.buckets.set(bucket, (b = new Map<string, Entry>()));
    return b;
  }

  get(bucket: string, name: string, generation?: string): StoredObject {
    const entry = this.buckets.get(bucket)?.get(name);
    const obj = generation ? entry?.versions.get(generation) : entry?.live;
    if (!obj) throw notFoundError(bucket, name);
    return obj;
  }

  check(bucket: string, name: string, cond: Preconditions): void {
    const current = this.buckets.get(bucket)?.get(name)?.live;
    const { ifGenerationMatch: gm, ifGenerationNotMatch: gnm } = cond;
    const { ifMetagenerationMatch: mm, ifMetagenerationNotMatch: mnm } = cond;
    const gen = current?.generation ?? "0";
    if (gm !== undefined && gm !== gen) throw preconditionFailed();
    if (gnm !== undefined && gnm === gen) throw preconditionFailed();
    if (mm !== undefined && (!current || String(current.metageneration) !== mm)) throw preconditionFailed();
    if (mnm !== undefined && current && String(current.metageneration) === mnm) throw preconditionFailed();
  }

  put(bucket: string, name: string, data: Buffer, meta: ObjectMeta, cond: Preconditions = {}): StoredObject {
    this.check(bucket, name, cond);
    const now = new Date().toISOString();
    const obj: StoredObject = {
      bucket,
      name,
      generation: this.nextGeneration(),
      metageneration: 1,
      size: data.length,
      md5Hash: md5Base64(data),
      crc32c: crc32cBase64(data),
      timeCreated: now,
      updated: now,
      contentType: meta.contentType ?? "application/octet-stream",
      data,
      ...pickMeta(meta),
    };
    const entry: Entry = this.entries(bucket).get(name) ?? { versions: new Map<string, StoredObject>() };
    entry.live = obj;
    entry.versions.set(obj.generation, obj);
    this.entries(bucket).set(name, entry);
    this.persist(obj);
    return obj;
  }

  patch(
    bucket: string,
    name: string,
    patch: ObjectMeta & { metadata?: Record<string, string | null> | null },
    cond: Preconditions = {},
  ) {
    const current = this.get(bucket, name);
    this.check(bucket, name, cond);
    const metadata: Record<string, string> = { ...(current.metadata ?? {}) };
    if (patch.metadata === null) for (const k of Object.keys(metadata)) delete metadata[k];
    for (const [k, v] of Object.entries(patch.metadata ?? {})) {
      if (v === null) delete metadata[k];
      else metadata[k] = String(v);
    }
    const updated: StoredObject = {
      ...current,
      ...pickMeta(patch),
      metadata: Object.keys(metadata).length > 0 ? metadata : undefined,
      metageneration: current.metageneration + 1,
      updated: new Date().toISOString(),
    };
    const entry = this.buckets.get(bucket)!.get(name)!;
    entry.live = updated;
    entry.versions.set(updated.generation, updated);
    this.persistIndex();
    return updated;
  }

  delete(bucket: string, name: string, generation: string | undefined, cond: Preconditions = {}): void {
    const entry = this.buckets.get(bucket)?.get(name);
    if (generation) {
      if (!entry?.versions.delete(generation)) throw notFoundError(bucket, name);
      if (entry.live?.generation === generation) entry.live = undefined;
    } else {
      if (!entry?.live) throw notFoundError(bucket, name);
      this.check(bucket, name, cond);
      entry.live = undefined;
    }
    this.persistIndex();
  }

  /** Live objects in name order, and collapsed prefixes, paged like objects.list. */
  list(
    bucket: string,
    opts: ListOptions,
  ): { items: StoredObject[]; prefixes: string[]; nextPageToken?: string } {
    const prefix = opts.prefix ?? "";
    const max = Math.max(1, Math.min(opts.maxResults ?? 1000, 1000));
    const after = opts.pageToken ? Buffer.from(opts.pageToken, "base64url").toString("utf8") : undefined;
    const names = [...(this.buckets.get(bucket)?.entries() ?? [])]
      .filter(([n, e]) => e.live && n.startsWith(prefix))
      .map(([n]) => n)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const items: StoredObject[] = [];
    const prefixes: string[] = [];
    let lastKey: string | undefined;
    for (const name of names) {
      if (opts.startOffset !== undefined && name < opts.startOffset) continue;
      if (opts.endOffset !== undefined && name >= opts.endOffset) continue;
      let key = name;
      if (opts.delimiter) {
        const i = name.indexOf(opts.delimiter, prefix.length);
        if (i >= 0) key = name.slice(0, i + opts.delimiter.length);
      }
      // Keys are non-decreasing in name order, so a prefix is emitted once and paging resumes after it.
      if (after !== undefined && key <= after) continue;
      if (key === lastKey) continue;
      if (items.length + prefixes.length >= max) {
        return { items, prefixes, nextPageToken: Buffer.from(lastKey!, "utf8").toString("base64url") };
      }
      lastKey = key;
      if (key === name) items.push(this.buckets.get(bucket)!.get(name)!.live!);
      else prefixes.push(key);
    }
    return { items, prefixes };
  }

  clear(): void {
    this.buckets.clear();
    this.persistIndex();
  }

  private blobPath(obj: { bucket: string; name: string; generation: string }): string {
    const id = crypto.createHash("sha256").update(`${obj.bucket}\0${obj.name}`).digest("hex").slice(0, 32);
    return path.join("blobs", encodeURIComponent(obj.bucket), `${id}-${obj.generation}`);
  }

  private persist(obj: StoredObject): void {
    if (!this.rootDir) return;
    const file = path.join(this.rootDir, this.blobPath(obj));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, obj.data);
    this.persistIndex();
  }

  private persistIndex(): void {
    if (!this.rootDir) return;
    const records: IndexRecord[] = [];
    for (const entries of this.buckets.values()) {
      for (const entry of entries.values()) {
        for (const v of entry.versions.values()) {
          const { data: _data, ...rest } = v;
          records.push({ ...rest, blob: this.blobPath(v), live: entry.live === v });
        }
      }
    }
    mkdirSync(this.rootDir, { recursive: true });
    const file = path.join(this.rootDir, "index.json");
    writeFileSync(`${file}.tmp`, JSON.stringify(records));
    renameSync(`${file}.tmp`, file);
  }

  private load(rootDir: string): void {
    const file = path.join(rootDir, "index.json");
    if (!existsSync(file)) return;
    const records = JSON.parse(readFileSync(file, "utf8")) as IndexRecord[];
    for (const { blob, live, ...rest } of records) {
      const blobFile = path.join(rootDir, blob);
      if (!existsSync(blobFile)) continue;
      const obj: StoredObject = { ...rest, data: readFileSync(blobFile) };
      const entry: Entry = this.entries(obj.bucket).get(obj.name) ?? {
        versions: new Map<string, StoredObject>(),
      };
      entry.versions.set(obj.generation, obj);
      if (live) entry.live = obj;
      this.entries(obj.bucket).set(obj.name, entry);
      this.lastGeneration = Math.max(this.lastGeneration, Number(obj.generation));
    }
  }
}

function pickMeta(m: ObjectMeta): ObjectMeta {
  const out: ObjectMeta = {};
  if (typeof m.contentType === "string") out.contentType = m.contentType;
  if (typeof m.cacheControl === "string") out.cacheControl = m.cacheControl;
  if (typeof m.contentDisposition === "string") out.contentDisposition = m.contentDisposition;
  if (typeof m.contentEncoding === "string") out.contentEncoding = m.contentEncoding;
  if (typeof m.contentLanguage === "string") out.contentLanguage = m.contentLanguage;
  if (m.metadata && typeof m.metadata === "object") {
    const md: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.metadata)) if (v !== null && v !== undefined) md[k] = String(v);
    if (Object.keys(md).length > 0) out.metadata = md;
  }
  return out;
}
