/**
 * Image-signature search, clio's `image_query.py` done right: signatures are read from binary
 * blocks in Cloud Storage, similar signatures are found with one parameterized BigQuery query, and
 * every failure is an ApiError with a real status instead of a 200 with a misspelled key.
 */
import type { BigQuery } from "@google-cloud/bigquery";
import type { Storage } from "@google-cloud/storage";
import { ApiError, toIssues } from "../errors.js";
import {
  signatureDatasetSchema,
  signatureInfoSchema,
  signaturePointQuerySchema,
  type AtLocationResponse,
  type LikeLocationResponse,
  type Point,
  type SignatureInfo,
  type SignatureMatch,
} from "../schemas/signatures.js";

/** Farthest a stored sample may be from the asked point, and how far apart kept matches must be. */
export const MAX_DISTANCE = 100;
export const PARTITIONS = 4000n;
/** Hamming distances below this are similar; also the denominator of `score`. */
export const MAX_HAMMING = 8;
export const MAX_MATCHES = 200;
export const RECORD_SIZE = 20;

/**
 * Reads one object. When it does not exist the promise rejects with an error whose `code` is 404
 * (as @google-cloud/storage does) or "ENOENT" (a local directory).
 */
export type ReadObject = (bucket: string, path: string) => Promise<Buffer>;

/** `readObject` over Cloud Storage; a missing object rejects with the client's code 404. */
export function storageReadObject(storage: Storage): ReadObject {
  return async (bucket, path) => (await storage.bucket(bucket).file(path).download())[0];
}

export interface SignatureDeps {
  /** SIG_BUCKET; empty means the feature is not configured (503). */
  bucket: string;
  readObject: ReadObject;
  bigquery: BigQuery;
  /** Clock for the info.json lifetime. */
  now?: () => number;
  /** How long a dataset's info.json is trusted; blocks never change and are kept until evicted. */
  infoTtlMs?: number;
  /** Most blocks kept in memory (each is 20 bytes per sample). */
  maxCachedBlocks?: number;
}

export interface SignatureRecord {
  point: Point;
  signature: bigint;
}

export interface SignatureService {
  atLocation(dataset: string, point: unknown): Promise<AtLocationResponse>;
  likeLocation(dataset: string, point: unknown): Promise<LikeLocationResponse>;
}

const UINT64 = (1n << 64n) - 1n;

/**
 * clio's `murmur64`: the 64-bit finaliser of MurmurHash3 (fmix64), applied to a Python int. The
 * masked signature may be negative (a signed signature and a mask with bit 63 set), in which case
 * the first shift is arithmetic, exactly as Python's `>>` on a negative int; BigInt's `>>` is too.
 */
export function fmix64(value: bigint): bigint {
  let h = value;
  h ^= h >> 33n;
  h = (h * 0xff51afd7ed558ccdn) & UINT64;
  h ^= h >> 33n;
  h = (h * 0xc4ceb9fe1a85ec53n) & UINT64;
  h ^= h >> 33n;
  return h;
}

/** The partition of each `hamming{i}` table the signature falls in: fmix64(ham_i & sig) % 4000. */
export function partitionsOf(info: SignatureInfo, signature: bigint): [bigint, bigint, bigint, bigint] {
  const part = (mask: bigint) => fmix64(mask & signature) % PARTITIONS;
  return [part(info.ham_0), part(info.ham_1), part(info.ham_2), part(info.ham_3)];
}

/**
 * Parses info.json without rounding its 64-bit masks: JSON.parse would turn `"ham_0": 1844...`
 * into an imprecise double, so integer literals of the `ham_i` keys are quoted first.
 */
export function parseSignatureInfo(text: string): SignatureInfo {
  let raw: unknown;
  try {
    raw = JSON.parse(text.replace(/("ham_\d+"\s*:\s*)(-?\d+)(?=\s*[,}])/g, '$1"$2"'));
  } catch (err) {
    throw new ApiError("internal", "The signature metadata of this dataset is not valid JSON", undefined, {
      cause: err,
    });
  }
  const parsed = signatureInfoSchema.safeParse(raw);
  if (!parsed.success) throw new ApiError("internal", "The signature metadata of this dataset is malformed");
  return parsed.data;
}

/** The object path of the block holding a point, as the ingest pipeline names it. */
export function blockPath(dataset: string, blockSize: number, [x, y, z]: Point): string {
  const b = (v: number) => Math.floor(v / blockSize);
  return `${dataset}/blocks/${b(x)}_${b(y)}_${b(z)}`;
}

/** Decodes 20-byte little-endian records (x, y, z uint32; signature int64); a partial tail is ignored. */
export function decodeBlock(block: Buffer): SignatureRecord[] {
  const records: SignatureRecord[] = [];
  for (let at = 0; at + RECORD_SIZE <= block.length; at += RECORD_SIZE) {
    records.push({
      point: [block.readUInt32LE(at), block.readUInt32LE(at + 4), block.readUInt32LE(at + 8)],
      signature: block.readBigInt64LE(at + 12),
    });
  }
  return records;
}

/** Encodes records in the block format; the inverse of `decodeBlock`. */
export function encodeBlock(records: readonly SignatureRecord[]): Buffer {
  const block = Buffer.alloc(records.length * RECORD_SIZE);
  records.forEach(({ point: [x, y, z], signature }, i) => {
    const at = i * RECORD_SIZE;
    block.writeUInt32LE(x, at);
    block.writeUInt32LE(y, at + 4);
    block.writeUInt32LE(z, at + 8);
    block.writeBigInt64LE(BigInt.asIntN(64, signature), at + 12);
  });
  return block;
}

function distanceSquared(a: Point, b: Point): number {
  return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2;
}

/** The record nearest to `point` within MAX_DISTANCE; the first one wins a tie, as in clio. */
export function nearestRecord(
  records: readonly SignatureRecord[],
  point: Point,
): SignatureRecord | undefined {
  let best: SignatureRecord | undefined;
  let bestDistance = MAX_DISTANCE ** 2;
  for (const record of records) {
    const d = distanceSquared(record.point, point);
    if (best === undefined ? d <= bestDistance : d < bestDistance) {
      best = record;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * Keeps hits, in the order given, that are more than MAX_DISTANCE from the query point and from
 * every hit already kept, so one structure is not reported many times over.
 */
export function suppressNearby(
  query: Point,
  hits: readonly { point: Point; dist: number }[],
): SignatureMatch[] {
  const kept: Point[] = [query];
  const matches: SignatureMatch[] = [];
  for (const hit of hits) {
    if (kept.some((p) => distanceSquared(p, hit.point) <= MAX_DISTANCE ** 2)) continue;
    kept.push(hit.point);
    matches.push({ point: hit.point, dist: hit.dist, score: 1 - hit.dist / MAX_HAMMING });
  }
  return matches;
}

/**
 * Every dataset id whose signatures live under the same folder and table as `dataset`: itself and
 * each stored dataset whose id lower-cases to the same name (security review L1). Signatures are
 * read under the lower-cased name, so a caller must be allowed on all of these, or a role on a
 * public `Abc` would serve the signatures of a private `abc`.
 */
export async function signatureOwners(
  datasets: { all(): Promise<Map<string, unknown>> },
  dataset: string,
): Promise<string[]> {
  const canonical = checkDataset(dataset);
  const owners = new Set([dataset]);
  for (const id of (await datasets.all()).keys()) if (id.toLowerCase() === canonical) owners.add(id);
  return [...owners];
}

/** Validates a dataset name before it can name a table or an object. */
export function checkDataset(dataset: string): string {
  const parsed = signatureDatasetSchema.safeParse(dataset);
  if (!parsed.success) {
    throw new ApiError("invalid_argument", "Invalid dataset name", [
      { path: ["dataset"], message: parsed.error.issues[0]?.message ?? "invalid" },
    ]);
  }
  return parsed.data.toLowerCase();
}

function checkPoint(point: unknown): Point {
  const parsed = signaturePointQuerySchema.safeParse(point);
  if (!parsed.success) {
    throw new ApiError(
      "invalid_argument",
      "x, y and z must be non-negative integers",
      toIssues(parsed.error),
    );
  }
  return [parsed.data.x, parsed.data.y, parsed.data.z];
}

/**
 * The similarity query. Only the dataset (validated and lower-cased by `checkDataset`) is part of
 * the text, because a table name cannot be a parameter; every value is a parameter. Ties are
 * broken by position rather than clio's `rand()` so the same question gets the same answer.
 */
export function likeLocationSql(dataset: string): string {
  const ds = `${checkDataset(dataset)}_imgsearch`;
  const selects = [0, 1, 2, 3].map(
    (i) =>
      `SELECT x, y, z, signature, BIT_COUNT(signature ^ @signature) AS hamming FROM \`${ds}.hamming${i}\`` +
      ` WHERE part = @part${i} AND BIT_COUNT(signature ^ @signature) < @max_hamming`,
  );
  return (
    `SELECT x, y, z, hamming FROM (\n${selects.join("\nUNION DISTINCT\n")}\n) AS hits\n` +
    `ORDER BY hamming, x, y, z\nLIMIT ${MAX_MATCHES}`
  );
}

/** A small LRU of promises, so concurrent requests for one object share a single read. */
class Lru<V> {
  private readonly entries = new Map<string, { value: Promise<V>; at: number }>();

  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && this.now() - hit.at < this.ttlMs) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    const value = load();
    const entry = { value, at: this.now() };
    this.entries.delete(key);
    this.entries.set(key, entry);
    // A failed read must not be remembered: the next request tries again.
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    return value;
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 404 || code === "ENOENT" || code === "not_found";
}

interface BigQueryRow {
  x: string;
  y: string;
  z: string;
  hamming: string;
}

export function createSignatureService(deps: SignatureDeps): SignatureService {
  const now = deps.now ?? Date.now;
  const infos = new Lru<SignatureInfo>(256, deps.infoTtlMs ?? 10 * 60_000, now);
  const blocks = new Lru<SignatureRecord[]>(deps.maxCachedBlocks ?? 512, Infinity, now);

  function bucket(): string {
    if (!deps.bucket) throw new ApiError("unavailable", "Signature search is not configured on this server");
    return deps.bucket;
  }

  async function read(path: string, missing: string): Promise<Buffer> {
    try {
      return await deps.readObject(bucket(), path);
    } catch (err) {
      if (err instanceof ApiError) throw err;
      if (isMissing(err)) throw new ApiError("not_found", missing);
      throw new ApiError("unavailable", "The signature store could not be read", undefined, { cause: err });
    }
  }

  function info(dataset: string): Promise<SignatureInfo> {
    return infos.get(dataset, async () =>
      parseSignatureInfo(
        (await read(`${dataset}/info.json`, `Dataset ${dataset} has no signatures`)).toString(),
      ),
    );
  }

  async function lookup(rawDataset: string, rawPoint: unknown) {
    const dataset = checkDataset(rawDataset);
    const point = checkPoint(rawPoint);
    bucket();
    const meta = await info(dataset);
    const path = blockPath(dataset, meta.block_size, point);
    const records = await blocks.get(path, async () =>
      decodeBlock(await read(path, `No signature within ${MAX_DISTANCE} voxels of the point`)),
    );
    const nearest = nearestRecord(records, point);
    if (!nearest) throw new ApiError("not_found", `No signature within ${MAX_DISTANCE} voxels of the point`);
    return { dataset, point, meta, nearest };
  }

  return {
    async atLocation(dataset, point) {
      const { nearest } = await lookup(dataset, point);
      return { point: nearest.point, signature: nearest.signature.toString() };
    },

    async likeLocation(dataset, rawPoint) {
      const { dataset: ds, point, meta, nearest } = await lookup(dataset, rawPoint);
      const [part0, part1, part2, part3] = partitionsOf(meta, nearest.signature);
      let rows: BigQueryRow[];
      try {
        [rows] = (await deps.bigquery.query({
          query: likeLocationSql(ds),
          params: {
            signature: deps.bigquery.int(nearest.signature.toString()),
            part0: deps.bigquery.int(part0.toString()),
            part1: deps.bigquery.int(part1.toString()),
            part2: deps.bigquery.int(part2.toString()),
            part3: deps.bigquery.int(part3.toString()),
            max_hamming: MAX_HAMMING,
          },
          // Integers come back as decimal strings: nothing passes through a lossy double.
          wrapIntegers: { integerTypeCastFunction: (v: string) => v },
        })) as [BigQueryRow[], ...unknown[]];
      } catch (err) {
        if (isMissing(err)) throw new ApiError("not_found", `Dataset ${ds} has no similarity index`);
        throw new ApiError("bad_gateway", "The similarity search failed", undefined, { cause: err });
      }
      const hits = rows.map((r) => ({
        point: [Number(r.x), Number(r.y), Number(r.z)] as Point,
        dist: Number(r.hamming),
      }));
      const matches = suppressNearby(point, hits);
      return matches.length > 0 ? { matches } : { matches, message: "no matches" };
    },
  };
}
