/**
 * The catalog's zip download: a selection (ids, or a query and filters) resolved to records and
 * checked against the limits, then a stream of their files and a manifest. HTTP (status, headers,
 * piping to the response) is the caller's: this module yields a stream and its metadata.
 */
import { once } from "node:events";
import { PassThrough, Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { Firestore } from "firebase-admin/firestore";
import yazl from "yazl";
import type { Config } from "../../config.js";
import { ApiError, conflict } from "../../errors.js";
import type { Logger } from "../../log.js";
import type { CatalogFile, CatalogRecord } from "../../schemas/catalog.js";
import { PoliteClient, userAgent, type HostPolicy } from "../../sources/http.js";
import { HARVEST_SOURCES, HOST_POLICIES, sourceHosts } from "../../sources/registry.js";
import { readRecords } from "./records.js";
import { selectIds } from "./search.js";
import type { CatalogIndex } from "./search-index.js";

/** The settings a download reads: its limits, and the sources' params (the allowed hosts). */
export type DownloadConfig = Config;

export interface DownloadDeps {
  db: Firestore;
  config: DownloadConfig;
  now: () => Date;
  log: Logger;
  catalogIndex: CatalogIndex;
  /** This instance's download client (see `createDownloadClient`). */
  downloadClient: () => Promise<PoliteClient>;
}

export interface ResolvedSelection {
  records: CatalogRecord[];
  /** Ids asked for that the catalog does not have. */
  notFound: string[];
}

/** A download in progress: what to send, and how to stop it. */
export interface CatalogZip {
  filename: string;
  contentType: "application/zip";
  /** The archive's bytes. */
  stream: Readable;
  /** Stops fetching (the client went away); the archive then ends without a manifest. */
  abort: (reason?: Error) => void;
  /** Settles when the archive has been fully produced (or abandoned after `abort`). */
  done: Promise<void>;
}

/** What a bundle job (services/jobs/kinds.ts) adds to a download. */
export interface DownloadHooks {
  /** Awaited before each file with the files handled so far; a rejection ends the archive. */
  beforeFile?: (done: number, total: number) => Promise<void>;
}

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
  /** `unreadable`: the source answered, but not with the file (an HTML error page sent as 200). */
  status: "ok" | "failed" | "skipped" | "truncated" | "unreadable";
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
  totals: {
    ok: number;
    failed: number;
    skipped: number;
    truncated: number;
    unreadable: number;
    bytes: number;
  };
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

/**
 * The HTTP client for downloads; the composition root builds one per instance, so concurrent
 * downloads share each host's cap and spacing (NeuroMorpho: a request a second) and the TLS
 * fallback is limited to NeuroMorpho's host. Retries are few and short: a person is waiting, and
 * a failed file is listed, not fatal. A body is capped at the download's byte limit, and
 * redirects are followed only to the sources' hosts and the hosts their params allow (DANDI's
 * asset URLs redirect to its S3 bucket).
 */
export function createDownloadClient(config: DownloadConfig): PoliteClient {
  const timeoutMs = config.catalogDownloadFileTimeoutSeconds * 1000;
  const quick: Partial<HostPolicy> = {
    maxAttempts: 2,
    backoffBaseMs: 500,
    backoffMaxMs: 2000,
    maxRetryAfterMs: 5000,
    maxBodyBytes: config.catalogDownloadMaxBytes,
  };
  const hosts: Record<string, Partial<HostPolicy>> = {};
  const redirects = new Set<string>();
  for (const source of HARVEST_SOURCES) {
    const { own, redirects: also } = sourceHosts(config, source);
    hosts[own] = { ...HOST_POLICIES[source], ...quick, timeoutMs };
    for (const host of [own, ...also]) redirects.add(host);
  }
  return new PoliteClient({
    userAgent: userAgent(config.harvestContact),
    hosts,
    defaultPolicy: { ...quick, timeoutMs },
    redirectAllowed: (url) =>
      redirects.has(url.host) && (url.protocol === "https:" || url.protocol === "http:"),
  });
}

/** Hosts a record's file URL may name: the sources' own. Anything else in a record is not fetched. */
function allowedHosts(config: DownloadConfig): Set<string> {
  return new Set(HARVEST_SOURCES.map((s) => sourceHosts(config, s).own));
}

/**
 * An HTML page is never one of the catalog's files: NeuroMorpho answers a missing file with an
 * HTML error page and status 200 (review §1). The type says so, or, for the text formats, the
 * first bytes do.
 */
const HTML_START = /^\s*<(!doctype html|html|head|body)[\s>]/i;
const TEXT_FORMATS = new Set(["swc", "asc", "dat", "txt", "morph.xml", "xml"]);

function htmlInstead(file: CatalogFile, contentType: string | null, head: Uint8Array): string | null {
  if (file.format === "html" || file.format === "htm") return null;
  if (/^text\/html\b/i.test(contentType ?? ""))
    return `the source answered an HTML page (${contentType}), not the ${file.format} file`;
  if (TEXT_FORMATS.has(file.format) && HTML_START.test(new TextDecoder().decode(head.subarray(0, 256))))
    return `the source answered an HTML page (sent as ${contentType ?? "no type"}), not the ${file.format} file`;
  return null;
}

/** The records a selection names, checked against the limits before anything is streamed. */
export async function resolveSelection(
  deps: Pick<DownloadDeps, "db" | "config" | "catalogIndex">,
  selection: DownloadSelection,
): Promise<ResolvedSelection> {
  const { maxRecords } = limitsOf(deps.config);
  let ids: string[];
  if ("ids" in selection) {
    ids = [...new Set(selection.ids)];
  } else {
    const { index } = await deps.catalogIndex.get();
    ids = selectIds(index, selection.q, selection.filters, maxRecords, (n) => tooManyRecords(n, maxRecords));
  }
  if (ids.length > maxRecords) throw tooManyRecords(ids.length, maxRecords);
  const found = await readRecords(deps.db, ids);
  const resolved = {
    records: ids.flatMap((id) => found.get(id) ?? []),
    notFound: ids.filter((id) => !found.has(id)),
  };
  checkKnownBytes(resolved.records, deps.config.catalogDownloadMaxBytes);
  return resolved;
}

function limitsOf(config: DownloadConfig) {
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
 * Starts a zip of the records' files and a manifest.json; the caller sends `stream` and calls
 * `abort` if its client goes away. Files are fetched one after another (politely, each with a
 * timeout) and piped straight into the archive, so memory stays at a few buffers whatever the
 * sizes, and the archive is produced only as fast as it is read. A file that cannot be fetched is
 * listed in the manifest with the reason instead of failing the download; once the byte limit is
 * reached (sizes the source did not state are only known while streaming) the remaining files are
 * skipped and listed too.
 */
export function streamDownload(
  deps: Pick<DownloadDeps, "config" | "now" | "log" | "downloadClient">,
  selection: DownloadSelection,
  resolved: ResolvedSelection,
  hooks: DownloadHooks = {},
): CatalogZip {
  const { config, log } = deps;
  const { maxBytes, maxRecords } = limitsOf(config);
  const hosts = allowedHosts(config);
  const abort = new AbortController();
  const zip = new yazl.ZipFile();
  // yazl's output is a PassThrough; its typings say only NodeJS.ReadableStream.
  const output = zip.outputStream as Readable;
  const stamp = deps.now().toISOString().slice(0, 19).replace(/[-:T]/g, "");

  const produce = async () => {
    const client = await deps.downloadClient();
    const files: ManifestFile[] = [];
    let bytes = 0;
    const mtime = deps.now();
    const totalFiles = resolved.records.reduce((n, r) => n + r.files.length, 0);
    for (const record of resolved.records) {
      const dir = safeSegment(record.id);
      for (const file of record.files) {
        if (abort.signal.aborted) break;
        await hooks.beforeFile?.(files.length, totalFiles);
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
        let head: Uint8Array;
        try {
          upstream = await client.open(file.url, abort.signal);
          ({ head, body: upstream } = await peek(upstream));
        } catch (err) {
          if (abort.signal.aborted) break;
          Object.assign(entry, { status: "failed", reason: reasonOf(err) });
          continue;
        }
        const html = htmlInstead(file, upstream.headers.get("content-type"), head);
        if (html) {
          await upstream.body?.cancel().catch(() => undefined);
          Object.assign(entry, { status: "unreadable", reason: html });
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
          unreadable: files.filter((f) => f.status === "unreadable").length,
          bytes,
        },
      };
      zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2)), "manifest.json", { mtime });
      log.info("catalog download", { records: resolved.records.length, ...manifest.totals });
    }
    zip.end();
  };
  const done = produce().catch((err: unknown) => {
    output.destroy(err instanceof Error ? err : new Error(String(err)));
    throw err;
  });
  return {
    filename: `neurofire-catalog-${stamp}.zip`,
    contentType: "application/zip",
    stream: output,
    abort: (reason) => abort.abort(reason),
    done,
  };
}

/** The body's first chunk, and a response that still yields the whole body. */
async function peek(res: globalThis.Response): Promise<{ head: Uint8Array; body: globalThis.Response }> {
  if (!res.body) return { head: new Uint8Array(), body: res };
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const first = await reader.read();
  const head = first.done ? new Uint8Array() : first.value;
  let sentHead = first.done;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!sentHead) {
        sentHead = true;
        controller.enqueue(head);
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return { head, body: new globalThis.Response(body, { status: res.status, headers: res.headers }) };
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
