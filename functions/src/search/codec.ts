import { ApiError } from "../errors.js";
import { FORMAT_VERSION, type IndexData, type IndexMeta } from "./data.js";

/**
 * Binary layout: "NFSI", u32 format, u32 header length, JSON header (meta, facet values, the
 * section table), then the sections, each 8-byte aligned and little-endian, so loading is one copy
 * and typed-array views over it, with no per-posting parsing.
 */
const MAGIC = "NFSI";
const ALIGN = 8;

type Section = Uint8Array | Uint16Array | Uint32Array | Float64Array;
type Kind = "u8" | "u16" | "u32" | "f64" | "str";

interface Header {
  meta: IndexMeta;
  facets: { name: string; values: string[] }[];
  sorts: string[];
  /** [name, kind, byteOffset from the data start, byteLength] */
  sections: [string, Kind, number, number][];
}

const pad = (n: number) => (ALIGN - (n % ALIGN)) % ALIGN;

export function encodeIndex(data: IndexData): Buffer {
  const parts: [string, Kind, Uint8Array][] = [];
  const add = (name: string, kind: Kind, s: Section | string) =>
    parts.push([
      name,
      kind,
      typeof s === "string" ? Buffer.from(s, "utf8") : new Uint8Array(s.buffer, s.byteOffset, s.byteLength),
    ]);
  add("ids", "str", data.ids);
  add("idOffsets", "u32", data.idOffsets);
  add("terms", "str", data.terms);
  add("termOffsets", "u32", data.termOffsets);
  add("postStart", "u32", data.postStart);
  add("impStart", "u32", data.impStart);
  add("postings", "u8", data.postings);
  add("impacts", "u16", data.impacts);
  for (const f of data.facets) {
    add(`facet:${f.name}:offsets`, "u32", f.docOffsets);
    add(`facet:${f.name}:values`, "u32", f.docValues);
  }
  for (const s of data.sorts) add(`sort:${s.name}`, "f64", s.values);

  const sections: Header["sections"] = [];
  let at = 0;
  for (const [name, kind, bytes] of parts) {
    sections.push([name, kind, at, bytes.byteLength]);
    at += bytes.byteLength + pad(bytes.byteLength);
  }
  const header: Header = {
    meta: data.meta,
    facets: data.facets.map((f) => ({ name: f.name, values: f.values })),
    sorts: data.sorts.map((s) => s.name),
    sections,
  };
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const start = 12 + json.byteLength + pad(12 + json.byteLength);
  const out = Buffer.alloc(start + at);
  out.write(MAGIC, 0, "latin1");
  out.writeUInt32LE(FORMAT_VERSION, 4);
  out.writeUInt32LE(json.byteLength, 8);
  json.copy(out, 12);
  for (let i = 0; i < parts.length; i++) out.set(parts[i]![2], start + sections[i]![2]);
  return out;
}

const corrupt = (why: string) => new ApiError("internal", `The search index blob is unreadable: ${why}`);

export function decodeIndex(input: Uint8Array): IndexData {
  if (input.byteLength < 12 || Buffer.from(input.subarray(0, 4)).toString("latin1") !== MAGIC) {
    throw corrupt("not a search index");
  }
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const format = view.getUint32(4, true);
  if (format !== FORMAT_VERSION) throw corrupt(`format ${format}, expected ${FORMAT_VERSION}`);
  const jsonLength = view.getUint32(8, true);
  if (12 + jsonLength > input.byteLength) throw corrupt("truncated header");
  let header: Header;
  try {
    header = JSON.parse(Buffer.from(input.subarray(12, 12 + jsonLength)).toString("utf8")) as Header;
  } catch {
    throw corrupt("bad header");
  }
  const start = 12 + jsonLength + pad(12 + jsonLength);
  // One aligned copy: Buffers from a pool or a download may start at any byte offset.
  const bytes = new Uint8Array(input.byteLength - start);
  bytes.set(input.subarray(start));
  const table = new Map(header.sections.map(([name, kind, off, len]) => [name, { kind, off, len }]));
  const get = (name: string, kind: Kind) => {
    const s = table.get(name);
    if (!s || s.kind !== kind || s.off % ALIGN !== 0 || s.off + s.len > bytes.byteLength) {
      throw corrupt(`section ${name}`);
    }
    return s;
  };
  const u8 = (name: string) => {
    const s = get(name, "u8");
    return bytes.subarray(s.off, s.off + s.len);
  };
  const u16 = (name: string) => {
    const s = get(name, "u16");
    return new Uint16Array(bytes.buffer, s.off, s.len / 2);
  };
  const u32 = (name: string) => {
    const s = get(name, "u32");
    return new Uint32Array(bytes.buffer, s.off, s.len / 4);
  };
  const f64 = (name: string) => {
    const s = get(name, "f64");
    return new Float64Array(bytes.buffer, s.off, s.len / 8);
  };
  const str = (name: string) => {
    const s = get(name, "str");
    return Buffer.from(bytes.buffer, s.off, s.len).toString("utf8");
  };

  const { meta } = header;
  const data: IndexData = {
    meta,
    ids: str("ids"),
    idOffsets: u32("idOffsets"),
    terms: str("terms"),
    termOffsets: u32("termOffsets"),
    postStart: u32("postStart"),
    impStart: u32("impStart"),
    postings: u8("postings"),
    impacts: u16("impacts"),
    facets: header.facets.map((f) => ({
      name: f.name,
      values: f.values,
      docOffsets: u32(`facet:${f.name}:offsets`),
      docValues: u32(`facet:${f.name}:values`),
    })),
    sorts: header.sorts.map((name) => ({ name, values: f64(`sort:${name}`) })),
  };
  const n = meta.docCount;
  const t = meta.termCount;
  const ok =
    data.idOffsets.length === n + 1 &&
    data.idOffsets[n] === data.ids.length &&
    data.termOffsets.length === t + 1 &&
    data.termOffsets[t] === data.terms.length &&
    data.postStart.length === t + 1 &&
    data.postStart[t] === data.postings.length &&
    data.impStart.length === t + 1 &&
    data.impStart[t] === data.impacts.length &&
    data.impacts.length === meta.postingCount &&
    data.facets.every((f) => f.docOffsets.length === n + 1 && f.docOffsets[n] === f.docValues.length) &&
    data.sorts.every((s) => s.values.length === n);
  if (!ok) throw corrupt("inconsistent sections");
  return data;
}
