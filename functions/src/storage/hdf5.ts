/**
 * Reads the header of an NWB/HDF5 file with range reads, never the whole object.
 *
 * h5wasm's Node build opens real files (NODERAWFS), so HDF5 reads through `FS.read`. We open a
 * sparse placeholder file of the object's size and answer HDF5's reads for it from blocks fetched
 * by range reads. Fetching is asynchronous and HDF5 is not, so a read of a block we do not have
 * yet returns zeros and records the block; HDF5 then fails a checksum or finds nothing, and the
 * attempt is repeated once the recorded blocks have arrived. Each round fetches only blocks HDF5
 * actually touched. On the seed recording (8.2 MB) the first 64 KiB block holds every header
 * field: one range read, under 1% of the file.
 */
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { RangeRead } from "./objects.js";

export interface Hdf5Header {
  nwb_version: string | null;
  identifier: string | null;
  session_description: string | null;
  session_start_time: string | null;
  subject: Record<string, string> | null;
}

export interface Hdf5ReadResult {
  header: Hdf5Header;
  bytesRead: number;
  requests: number;
}

export interface Hdf5ReadOptions {
  blockSize?: number;
  /** Give up after this many fetch rounds (a file that is not HDF5 fails at once). */
  maxRounds?: number;
  /**
   * Give up once the header would need more than this many bytes of the file (security review
   * L11: a crafted file must not make a trigger download it whole). Default 4 MiB.
   */
  maxBytes?: number;
}

/** Range reads in flight at once. */
const FETCH_CONCURRENCY = 8;
/** A header value is read only from a dataset this small; a larger one is not a header field. */
const MAX_VALUE_BYTES = 64 * 1024;
/** Subject fields read at most. */
const MAX_SUBJECT_FIELDS = 64;

interface EmscriptenStream {
  path?: string;
  position: number;
}
type FsRead = (
  stream: EmscriptenStream,
  out: Uint8Array,
  offset: number,
  length: number,
  position?: number,
) => number;

/** Open lazy files by placeholder path; attempts are synchronous, so calls never interleave. */
const sources = new Map<
  string,
  (out: Uint8Array, offset: number, length: number, position: number) => number
>();
let h5: Promise<typeof import("h5wasm/node")> | undefined;

// h5wasm is several MB of wasm: load it on first use, not when a function instance starts.
function loadH5wasm(): Promise<typeof import("h5wasm/node")> {
  h5 ??= (async () => {
    const mod = await import("h5wasm/node");
    await mod.ready;
    const fs = (mod as unknown as { FS: { read: FsRead } }).FS;
    const original = fs.read.bind(fs);
    fs.read = (stream, out, offset, length, position) => {
      const source = stream.path === undefined ? undefined : sources.get(stream.path);
      if (!source) return original(stream, out, offset, length, position);
      const at = position ?? stream.position;
      const n = source(out, offset, length, at);
      if (position === undefined) stream.position += n;
      return n;
    };
    return mod;
  })();
  return h5;
}

function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    const first = (value as ArrayLike<unknown>)[0];
    return first === undefined ? null : text(first);
  }
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean")
    return String(value);
  return null;
}

type H5File = InstanceType<(typeof import("h5wasm/node"))["File"]>;

function valueAt(file: H5File, p: string): string | null {
  const entity = file.get(p);
  if (!entity || !("value" in entity)) return null;
  // Only the shape and type are read here (header metadata); a huge dataset named like a header
  // field would otherwise make HDF5 touch every block of it (L11).
  const { shape, metadata } = entity as { shape?: number[] | null; metadata?: { size?: number } };
  const elements = (shape ?? []).reduce((product, n) => product * n, 1);
  if (elements * (metadata?.size ?? 1) > MAX_VALUE_BYTES) return null;
  return text((entity as { value: unknown }).value);
}

function extract(file: H5File): Hdf5Header {
  const attrs = file.attrs;
  let subject: Record<string, string> | null = null;
  const group = file.get("general/subject");
  if (group && "keys" in group) {
    subject = {};
    for (const key of (group as { keys(): string[] }).keys().slice(0, MAX_SUBJECT_FIELDS)) {
      const v = valueAt(file, `general/subject/${key}`);
      if (v !== null) subject[key] = v;
    }
  }
  return {
    nwb_version: text(attrs.nwb_version?.value),
    identifier: valueAt(file, "identifier"),
    session_description: valueAt(file, "session_description"),
    session_start_time: valueAt(file, "session_start_time"),
    subject,
  };
}

export async function readHdf5Header(
  read: RangeRead,
  size: number,
  options: Hdf5ReadOptions = {},
): Promise<Hdf5ReadResult> {
  const blockSize = options.blockSize ?? 64 * 1024;
  const maxRounds = options.maxRounds ?? 12;
  const h5wasm = await loadH5wasm();
  const blocks = new Map<number, Buffer>();
  let bytesRead = 0;
  let requests = 0;
  const maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
  const fetchBlocks = async (ids: number[]) => {
    if ((blocks.size + ids.length) * blockSize > Math.max(maxBytes, blockSize)) {
      throw new Error(`The HDF5 header needs more than ${maxBytes} bytes of the file; not read`);
    }
    // A few at a time: a round may name many blocks, and each is a request and a buffer.
    for (let i = 0; i < ids.length; i += FETCH_CONCURRENCY) {
      await Promise.all(
        ids.slice(i, i + FETCH_CONCURRENCY).map(async (id) => {
          const start = id * blockSize;
          const end = Math.min(size, start + blockSize) - 1;
          const data = await read(start, end);
          requests += 1;
          bytesRead += data.length;
          blocks.set(id, data);
        }),
      );
    }
  };

  const dir = await mkdtemp(path.join(os.tmpdir(), "neurofire-h5-"));
  const placeholder = path.join(dir, "lazy.h5");
  try {
    await writeFile(placeholder, "");
    await truncate(placeholder, size);
    await fetchBlocks([0]);
    let lastError: unknown;
    for (let round = 0; round < maxRounds; round++) {
      const missing = new Set<number>();
      sources.set(placeholder, (out, offset, length, position) => {
        if (position >= size) return 0;
        const n = Math.min(length, size - position);
        for (let done = 0; done < n; ) {
          const at = position + done;
          const id = Math.floor(at / blockSize);
          const within = at - id * blockSize;
          const take = Math.min(n - done, blockSize - within);
          const block = blocks.get(id);
          if (block) out.set(block.subarray(within, within + take), offset + done);
          else {
            out.fill(0, offset + done, offset + done + take);
            missing.add(id);
          }
          done += take;
        }
        return n;
      });
      let header: Hdf5Header | undefined;
      try {
        const file = new h5wasm.File(placeholder, "r");
        try {
          header = extract(file);
        } finally {
          file.close();
        }
      } catch (err) {
        lastError = err;
      } finally {
        sources.delete(placeholder);
      }
      if (missing.size === 0) {
        if (header) return { header, bytesRead, requests };
        throw new Error(`Not a readable HDF5 file: ${String(lastError)}`);
      }
      await fetchBlocks([...missing]);
    }
    throw new Error(`HDF5 header still incomplete after ${maxRounds} rounds of range reads`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
