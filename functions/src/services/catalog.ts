/**
 * The catalog API's domain logic: search over the per-instance index (services/catalog-index.ts),
 * records by id, the streamed zip download, and harvest control shared by the admin endpoint and
 * the scheduled functions.
 */
import { once } from "node:events";
import { PassThrough, Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { Response } from "express";
import type { Firestore } from "firebase-admin/firestore";
import yazl from "yazl";
import type { Config } from "../config.js";
import { ApiError, badRequest, conflict, notFound, type Issue } from "../errors.js";
import type { Logger } from "../log.js";
import {
  CATALOG_COLLECTIONS,
  catalogDocId,
  type CatalogFile,
  type CatalogKind,
  type CatalogRecord,
  type CatalogSource,
} from "../schemas/catalog.js";
import type { SearchIndex, SearchResult } from "../search/index.js";
import { PoliteClient, type HostPolicy } from "../sources/http.js";
import { HOST_POLICIES, sourceBaseUrl } from "../sources/registry.js";
import {
  ATTRIBUTE_FACET,
  CATALOG_FACETS,
  CATALOG_SORTS,
  catalogIndex,
  type IndexDeps,
} from "./catalog-index.js";

export interface CatalogDeps extends IndexDeps {
  config: Config;
}

// ---------- search ----------------------------------------------------------------------------

export const MAX_SEARCH_LIMIT = 200;
const SUMMARY_DESCRIPTION = 300;
const GET_ALL_CHUNK = 300;

/** What a search hit shows: enough for a result list; the full record is one GET away. */
export interface RecordSummary {
  id: string;
  source: CatalogSource;
  sourceId: string;
  kind: CatalogKind;
  name: string;
  description: string;
  species: string[];
  brainRegions: string[];
  cellTypes: string[];
  licence: string | null;
  fileCount: number;
  withdrawn: boolean;
  sourceModified: string | null;
  harvestedAt: string;
  score: number;
}

export interface CatalogSearchParams {
  q: string;
  filters: Record<string, string[]>;
  limit: number;
  cursor?: string | undefined;
  /** Facets to count; undefined: all. */
  facets?: string[] | undefined;
  sort: string;
}

export interface CatalogSearchResponse {
  total: number;
  hits: RecordSummary[];
  facets: Record<string, { value: string; count: number }[]>;
  next: string | null;
  match: SearchResult["match"];
  index: { builtAt: string; records: number; origin: "published" | "local" };
}

/** Whether `name` is a facet of the record schema (fixed facets, or any `attributes.<key>`). */
export function isCatalogFacet(name: string): boolean {
  return (CATALOG_FACETS as readonly string[]).includes(name) || ATTRIBUTE_FACET.test(name);
}

export function facetIssues(names: string[], path: string): Issue[] {
  return names
    .filter((n) => !isCatalogFacet(n))
    .map((n) => ({
      path: [path, n],
      message: `unknown facet "${n}"; facets are ${CATALOG_FACETS.join(", ")} and attributes.<key>`,
    }));
}

export function sortIssues(sort: string): Issue[] {
  const key = sort.startsWith("-") ? sort.slice(1) : sort;
  return sort === "relevance" || (CATALOG_SORTS as readonly string[]).includes(key)
    ? []
    : [
        {
          path: ["sort"],
          message: `use relevance or one of ${CATALOG_SORTS.join(", ")} (prefix - for descending)`,
        },
      ];
}

/** Withdrawn records are hidden unless the caller filters on `status` explicitly. */
function withDefaultStatus(filters: Record<string, string[]>): Record<string, string[]> {
  return filters.status?.length ? filters : { ...filters, status: ["current"] };
}

/**
 * Runs a search on `index`. Attribute facets that no record has (so the index lacks them) are
 * valid names with nothing in them: a filter on one matches nothing, a count of one is empty.
 */
function searchIndex(index: SearchIndex, p: CatalogSearchParams): SearchResult {
  const known = new Set(index.facetNames);
  const filters = withDefaultStatus(p.filters);
  const emptyFilter = Object.entries(filters).some(([name, values]) => values.length && !known.has(name));
  const counted = p.facets ?? index.facetNames;
  const result = index.search({
    q: p.q,
    filters: Object.fromEntries(Object.entries(filters).filter(([name]) => known.has(name))),
    limit: emptyFilter ? 0 : p.limit,
    ...(p.cursor !== undefined ? { cursor: p.cursor } : {}),
    facets: counted.filter((f) => known.has(f)),
    sort: index.sortNames.includes(p.sort.replace(/^-/, "")) || p.sort === "relevance" ? p.sort : "relevance",
  });
  const facets: SearchResult["facets"] = {};
  for (const name of counted) facets[name] = emptyFilter ? [] : (result.facets[name] ?? []);
  if (emptyFilter) return { total: 0, hits: [], facets, match: result.match };
  return { ...result, facets };
}

async function summaries(db: Firestore, hits: SearchResult["hits"], log: Logger): Promise<RecordSummary[]> {
  const records = await readRecords(
    db,
    hits.map((h) => h.id),
  );
  const out: RecordSummary[] = [];
  for (const hit of hits) {
    const r = records.get(hit.id);
    // Deleted since the index was built (records are withdrawn, not deleted, so this is rare).
    if (!r) {
      log.warn("catalog search: indexed record missing from Firestore", { id: hit.id });
      continue;
    }
    out.push({
      id: r.id,
      source: r.source,
      sourceId: r.sourceId,
      kind: r.kind,
      name: r.name,
      description:
        r.description.length > SUMMARY_DESCRIPTION
          ? `${r.description.slice(0, SUMMARY_DESCRIPTION - 1)}…`
          : r.description,
      species: r.species,
      brainRegions: r.brainRegions,
      cellTypes: r.cellTypes,
      licence: r.licence,
      fileCount: r.files.length,
      withdrawn: r.withdrawn,
      sourceModified: r.sourceModified,
      harvestedAt: r.harvestedAt,
      score: Math.round(hit.score * 1e4) / 1e4,
    });
  }
  return out;
}

export async function searchCatalog(
  owner: object,
  deps: CatalogDeps,
  params: CatalogSearchParams,
): Promise<CatalogSearchResponse> {
  const { index, origin } = await catalogIndex(owner, deps);
  const result = searchIndex(index, params);
  return {
    total: result.total,
    hits: await summaries(deps.db, result.hits, deps.log),
    facets: result.facets,
    next: result.nextCursor ?? null,
    match: result.match,
    index: { builtAt: index.meta.builtAt, records: index.size, origin },
  };
}

// ---------- records -----------------------------------------------------------------------------

/** Records by catalog id (absent ids are left out), read in bounded chunks. */
export async function readRecords(db: Firestore, ids: string[]): Promise<Map<string, CatalogRecord>> {
  const out = new Map<string, CatalogRecord>();
  const col = db.collection(CATALOG_COLLECTIONS.records);
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += GET_ALL_CHUNK) {
    const refs = unique.slice(i, i + GET_ALL_CHUNK).map((id) => col.doc(catalogDocId(id)));
    if (!refs.length) continue;
    for (const snap of await db.getAll(...refs)) {
      if (snap.exists) {
        const r = snap.data() as CatalogRecord;
        out.set(r.id, r);
      }
    }
  }
  return out;
}

export async function getRecord(db: Firestore, id: string): Promise<CatalogRecord> {
  const record = (await readRecords(db, [id])).get(id);
  if (!record) throw notFound(`No catalog record ${JSON.stringify(id)}`);
  return record;
}

// ---------- download ----------------------------------------------------------------------------

export type DownloadSelection = { ids: string[] } | { q: string; filters: Record<string, string[]> };

export interface ManifestFile {
  record: string;
  name: string;
  /** Path inside the archive; absent when the file is not in it. */
  path?: string;
  url: string;
  format: string;
  /** Size the source states, when it does. */
  expectedSize: number | null;
  /** Bytes in the archive. */
  size: number;
  status: "ok" | "failed" | "skipped" | "truncated";
  reason?: string;
}

export interface Manifest {
  createdAt: string;
  selection: DownloadSelection;
  limits: { maxRecords: number; maxBytes: number };
  records: {
    id: string;
    name: string;
    source: string;
    kind: string;
    licence: string | null;
    citations: CatalogRecord["citations"];
    page: string | null;
    withdrawn: boolean;
    files: number;
  }[];
  /** Ids asked for that the catalog does not have. */
  notFound: string[];
  files: ManifestFile[];
  totals: { ok: number; failed: number; skipped: number; truncated: number; bytes: number };
}

/** Formats that are already compressed: deflating them again costs CPU for nothing. */
const STORED_FORMATS = new Set([
  "zip",
  "gz",
  "tgz",
  "bz2",
  "xz",
  "7z",
  "nwb",
  "h5",
  "hdf5",
  "png",
  "jpg",
  "jpeg",
]);

/** A path segment safe inside a zip on every OS: no separators, no `..`, no control characters. */
export function safeSegment(s: string): string {
  const cleaned = [...s]
    .map((c) => (c.charCodeAt(0) < 32 || '\\/:*?"<>|'.includes(c) ? "_" : c))
    .join("")
    .replace(/^\.+/, "_")
    .slice(0, 150);
  return cleaned || "_";
}

const downloadClients = new WeakMap<object, PoliteClient>();

/**
 * One HTTP client per instance for downloads, so concurrent downloads share each host's spacing
 * (NeuroMorpho: a request a second) and the TLS fallback is limited to NeuroMorpho's host.
 * Retries are few and short: a person is waiting, and a failed file is listed, not fatal.
 */
function downloadClient(owner: object, config: Config): PoliteClient {
  let client = downloadClients.get(owner);
  if (!client) {
    const timeoutMs = config.catalogDownloadFileTimeoutSeconds * 1000;
    const quick: Partial<HostPolicy> = {
      maxAttempts: 2,
      backoffBaseMs: 500,
      backoffMaxMs: 2000,
      maxRetryAfterMs: 5000,
    };
    const hosts: Record<string, Partial<HostPolicy>> = {};
    for (const source of Object.keys(HOST_POLICIES) as CatalogSource[]) {
      hosts[new URL(sourceBaseUrl(config, source)).host] = { ...HOST_POLICIES[source], ...quick, timeoutMs };
    }
    client = new PoliteClient({
      hosts,
      defaultPolicy: { ...quick, timeoutMs },
      redirectAllowed: (url) =>
        Object.hasOwn(hosts, url.host) && (url.protocol === "https:" || url.protocol === "http:"),
    });
    downloadClients.set(owner, client);
  }
  return client;
}

/** Hosts a download may fetch from: the sources' own. Anything else in a record is not fetched. */
function allowedHosts(config: Config): Set<string> {
  return new Set(
    (Object.keys(HOST_POLICIES) as CatalogSource[]).map((s) => new URL(sourceBaseUrl(config, s)).host),
  );
}

/** The records a selection names, checked against the limits before anything is streamed. */
export async function resolveSelection(
  owner: object,
  deps: CatalogDeps,
  selection: DownloadSelection,
): Promise<{ records: CatalogRecord[]; notFound: string[] }> {
  const { maxRecords } = limitsOf(deps.config);
  let ids: string[];
  if ("ids" in selection) {
    ids = [...new Set(selection.ids)];
  } else {
    const { index } = await catalogIndex(owner, deps);
    const params: CatalogSearchParams = {
      q: selection.q,
      filters: selection.filters,
      limit: 0,
      sort: "relevance",
    };
    const first = searchIndex(index, { ...params, facets: [] });
    if (first.total > maxRecords) throw tooManyRecords(first.total, maxRecords);
    ids = [];
    let cursor: string | undefined;
    do {
      const page = searchIndex(index, { ...params, limit: 1000, facets: [], cursor });
      ids.push(...page.hits.map((h) => h.id));
      cursor = page.nextCursor;
    } while (cursor);
  }
  if (ids.length > maxRecords) throw tooManyRecords(ids.length, maxRecords);
  const found = await readRecords(deps.db, ids);
  return { records: ids.flatMap((id) => found.get(id) ?? []), notFound: ids.filter((id) => !found.has(id)) };
}

function limitsOf(config: Config) {
  return { maxRecords: config.catalogDownloadMaxRecords, maxBytes: config.catalogDownloadMaxBytes };
}

function tooManyRecords(count: number, max: number): ApiError {
  return conflict(
    `The selection has ${count} records; one download may hold at most ${max}. ` +
      "Narrow the query or filters, or download in several parts.",
  );
}

/** Refuses (413) a selection whose stated file sizes already exceed the byte limit. */
export function checkKnownBytes(records: CatalogRecord[], maxBytes: number): void {
  const known = records.reduce((s, r) => s + r.files.reduce((t, f) => t + (f.size ?? 0), 0), 0);
  if (known > maxBytes) {
    throw new ApiError(
      "payload_too_large",
      `The selected files add up to at least ${known} bytes; one download may hold at most ${maxBytes}. ` +
        "Select fewer records.",
    );
  }
}

/**
 * Streams a zip of the records' files and a manifest.json. Files are fetched one after another
 * (politely, each with a timeout) and piped straight into the archive, so memory stays at a few
 * buffers whatever the sizes. A file that cannot be fetched is listed in the manifest with the
 * reason instead of failing the request; once the byte limit is reached (sizes the source did
 * not state are only known while streaming) the remaining files are skipped and listed too.
 */
export async function streamDownload(
  owner: object,
  deps: CatalogDeps,
  res: Response,
  selection: DownloadSelection,
  resolved: { records: CatalogRecord[]; notFound: string[] },
): Promise<void> {
  const { config, log } = deps;
  const { maxBytes, maxRecords } = limitsOf(config);
  const client = downloadClient(owner, config);
  const hosts = allowedHosts(config);
  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) abort.abort(new Error("client closed the connection"));
  };
  res.on("close", onClose);

  const zip = new yazl.ZipFile();
  const stamp = deps.now().toISOString().slice(0, 19).replace(/[-:T]/g, "");
  res.status(200);
  res.setHeader("Content-Type", "application/zip");
  res.setHeader("Content-Disposition", `attachment; filename="neurofire-catalog-${stamp}.zip"`);
  res.setHeader("Cache-Control", "no-store");
  const piped = new Promise<void>((resolve, reject) => {
    zip.outputStream.on("error", reject);
    res.on("error", reject);
    res.on("finish", resolve);
    res.on("close", resolve);
  });
  zip.outputStream.pipe(res);

  const files: ManifestFile[] = [];
  let bytes = 0;
  const mtime = deps.now();
  try {
    for (const record of resolved.records) {
      const dir = safeSegment(record.id);
      for (const file of record.files) {
        if (abort.signal.aborted) break;
        const entry: ManifestFile = {
          record: record.id,
          name: file.name,
          url: file.url,
          format: file.format,
          expectedSize: file.size ?? null,
          size: 0,
          status: "ok",
        };
        files.push(entry);
        if (bytes >= maxBytes) {
          Object.assign(entry, {
            status: "skipped",
            reason: `the download reached its ${maxBytes}-byte limit`,
          });
          continue;
        }
        let url: URL;
        try {
          url = new URL(file.url);
        } catch {
          Object.assign(entry, { status: "failed", reason: "not a valid URL" });
          continue;
        }
        if (!hosts.has(url.host) || (url.protocol !== "https:" && url.protocol !== "http:")) {
          Object.assign(entry, {
            status: "failed",
            reason: `not fetched: ${url.host} is not one of the catalog's sources`,
          });
          continue;
        }
        let upstream: globalThis.Response;
        try {
          upstream = await client.get(file.url, (r) => Promise.resolve(r), abort.signal);
        } catch (err) {
          if (abort.signal.aborted) break;
          Object.assign(entry, { status: "failed", reason: reasonOf(err) });
          continue;
        }
        entry.path = `${dir}/${safeSegment(file.name)}`;
        bytes += await addEntry(zip, entry, upstream, {
          maxBytes: maxBytes - bytes,
          mtime,
          file,
          signal: abort.signal,
        });
      }
    }
    if (!abort.signal.aborted) {
      const manifest: Manifest = {
        createdAt: deps.now().toISOString(),
        selection,
        limits: { maxRecords, maxBytes },
        records: resolved.records.map((r) => ({
          id: r.id,
          name: r.name,
          source: r.source,
          kind: r.kind,
          licence: r.licence,
          citations: r.citations,
          page: r.links.find((l) => l.rel === "page")?.url ?? null,
          withdrawn: r.withdrawn,
          files: r.files.length,
        })),
        notFound: resolved.notFound,
        files,
        totals: {
          ok: files.filter((f) => f.status === "ok").length,
          failed: files.filter((f) => f.status === "failed").length,
          skipped: files.filter((f) => f.status === "skipped").length,
          truncated: files.filter((f) => f.status === "truncated").length,
          bytes,
        },
      };
      zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2)), "manifest.json", { mtime });
      log.info("catalog download", { records: resolved.records.length, ...manifest.totals });
    }
    zip.end();
    await piped;
  } finally {
    res.off("close", onClose);
  }
}

/** Streams one upstream body into a zip entry; returns the bytes written. */
async function addEntry(
  zip: yazl.ZipFile,
  entry: ManifestFile,
  upstream: globalThis.Response,
  opts: { maxBytes: number; mtime: Date; file: CatalogFile; signal: AbortSignal },
): Promise<number> {
  const pass = new PassThrough();
  zip.addReadStream(pass, entry.path!, {
    mtime: opts.mtime,
    compress: !STORED_FORMATS.has(opts.file.format),
  });
  const consumed = once(pass, "end");
  let written = 0;
  try {
    if (upstream.body) {
      const body = Readable.fromWeb(upstream.body as WebReadableStream<Uint8Array>);
      try {
        for await (const chunk of body) {
          let buf = chunk as Buffer;
          if (written + buf.length > opts.maxBytes) {
            buf = buf.subarray(0, opts.maxBytes - written);
            Object.assign(entry, {
              status: "truncated",
              reason: "cut at the download's byte limit; the archive holds the first bytes only",
            });
          }
          written += buf.length;
          if (buf.length && !pass.write(buf)) await once(pass, "drain", { signal: opts.signal });
          if (entry.status === "truncated") break;
        }
      } finally {
        body.destroy();
      }
    }
  } catch (err) {
    // Headers came but the body broke off (timeout, reset): the entry cannot be taken back out
    // of a streamed zip, so it stays, marked truncated.
    Object.assign(entry, {
      status: "truncated",
      reason: `the transfer broke off after ${written} bytes (${reasonOf(err)}); the archive holds those bytes`,
    });
  }
  entry.size = written;
  pass.end();
  if (!opts.signal.aborted) await consumed;
  return written;
}

function reasonOf(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === "TimeoutError") return "timed out";
    return err.message.replace(/\s+/g, " ").slice(0, 300);
  }
  return String(err).slice(0, 300);
}

// ---------- harvest control (services/harvest/control.ts) ---------------------------------------

export {
  harvestAndIndex,
  queueHarvest,
  scheduledAction,
  type HarvestOutcome,
  type HarvestRequest,
} from "./harvest/control.js";
export { getRun, listRuns } from "./harvest/run.js";

export function badFacets(names: string[], path: string): void {
  const issues = facetIssues(names, path);
  if (issues.length) throw badRequest(`Unknown facet ${JSON.stringify(issues[0]!.path[1])}`, issues);
}
