/**
 * Loopback upstream for the four public sources the catalog harvests, for tests and
 * `npm run harvest` offline. It serves the RECORDED REAL responses in `recorded/` (a copy of
 * ../shared/reference/real-responses; its README says where each file comes from) at the real
 * paths, with the real paging and error semantics, on one HTTP origin:
 *
 * - NeuroMorpho.Org: `GET /api/neuron/select?q=field:v1,v2&page&size` (HAL envelope, size ≤ 500,
 *   no `_embedded` past the end, and a select matching nothing is an HTTP 404 with the real error
 *   body), `GET /api/neuron/id/{id}`, `/api/health`, `/dableFiles/...` (a tiny SWC).
 * - Hippocampome.org: `GET /php/search_engine_json.php?query_str=` answers the recorded search
 *   (all-`?` patterns select every type, so the subregions do not narrow it; formal names; ids as
 *   strings); errors are HTML before the JSON and a missing `query_str` is an empty body, as on
 *   master. `/csv2db/search_engine_json.php` and `/php/data/type.csv` are Apache 404 pages (the site
 *   does not serve them); the project's published tables (type, markers, morphology,
 *   electrophysiology, v2 connections; Latin-1) are served at their GitHub raw host paths;
 *   `/php/data/conndata.csv` is the served pre-v2 file (BOM, CRLF).
 * - ModelDB: `GET /api/v1/models[?field=value]` (exact, case-sensitive filter; a model without the
 *   field is excluded), `/api/v1/models/{field}` (same order, null when absent),
 *   `/api/v1/models/{id}` (plain-text 404), `/download/{id}` (403 when unknown).
 * - DANDI: `GET /api/dandisets/?page&page_size&ordering&search&empty`,
 *   `/api/dandisets/{id}/versions/{version}/` and its `assets/?page&page_size` (the real asset
 *   lists of each recorded version), at one of two recorded moments (before and after
 *   000003 and 000552 published); the list item's `modified` never moves, `ordering=-modified`
 *   sorts by the latest version's `modified`; `search` is parsed as the real parser does (a bare
 *   `key:value` is an operator, an unknown key a 400). `/api/assets/{id}/download/` redirects
 *   (302) to a second loopback host standing in for its S3 bucket.
 *
 * Hand-written behaviour exists only for fault injection: statuses (5xx, 429 + Retry-After), hangs,
 * malformed or empty bodies, HTML error pages sent with 200, and edits (a record removed, a ModelDB
 * version bumped); and the S3 stand-in's blob bodies, which are placeholders.
 */
import { readdirSync, readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";

const RECORDED = new URL("./recorded/", import.meta.url);
const PUBLISHED_DIR = "hippocampome/github/csv2db_import_v2/iconv/latin1";
const bytes = (path: string) => readFileSync(new URL(path, RECORDED));
const text = (path: string) => bytes(path).toString("utf8");
const json = <T>(path: string) => JSON.parse(text(path)) as T;

export type UpstreamSource = "neuromorpho" | "hippocampome" | "modeldb" | "dandi";

const GITHUB_LATIN1 = "/Hippocampome-Org/csv2db_import_v2/master/iconv/latin1";
/**
 * Hippocampome's published tables, keyed by the harvester option that names each: served here at
 * the path they have on GitHub's raw host (review §8.1), from the recorded subsets.
 */
export const HIPPOCAMPOME_PUBLISHED = {
  typesCsvUrl: { path: `${GITHUB_LATIN1}/type.csv`, file: "type.third.csv" },
  markersCsvUrl: { path: `${GITHUB_LATIN1}/markerdata.csv`, file: "markerdata.subset.csv" },
  morphologyCsvUrl: { path: `${GITHUB_LATIN1}/morphdata.csv`, file: "morphdata.subset.csv" },
  ephysCsvUrl: { path: `${GITHUB_LATIN1}/epdata.csv`, file: "epdata.subset.csv" },
  connectionsCsvUrl: { path: `${GITHUB_LATIN1}/conndata.csv`, file: "conndata.subset.csv" },
} as const;
export type HippocampomePublished = keyof typeof HIPPOCAMPOME_PUBLISHED;

/** The harvester options pointing Hippocampome's published tables at this loopback. */
export function hippocampomePublishedUrls(origin: string): Record<HippocampomePublished, string> {
  return Object.fromEntries(
    Object.entries(HIPPOCAMPOME_PUBLISHED).map(([option, { path }]) => [option, origin + path]),
  ) as Record<HippocampomePublished, string>;
}

export interface Fault {
  /** Substring (or pattern) of `path?query` the fault applies to. */
  match: string | RegExp;
  /** `page`: 200 with an HTML error page, as NeuroMorpho answers a missing file (review §1). */
  kind: "status" | "hang" | "malformed" | "empty" | "page";
  /** Content-Type of a `page` fault (default `text/html;charset=UTF-8`). */
  contentType?: string;
  status?: number;
  /** Seconds, sent as Retry-After with a status fault. */
  retryAfter?: number;
  /** How many matching requests it affects (default 1; Infinity for every one). */
  times?: number;
}

export interface UpstreamOptions {
  port?: number;
  faults?: Fault[];
  /** Hippocampome search encoding: master (`plain`) or the `searchAPI_2025` branch (`double`). */
  hippocampomeEncoding?: "plain" | "double";
  /** The recorded DANDI moment served: before or after 000003 and 000552 published. */
  dandiMoment?: "before" | "after";
}

export interface UpstreamServer {
  url: string;
  /**
   * Stands in for DANDI's S3 bucket (dandiarchive.s3.amazonaws.com): another host, to which
   * `/api/assets/{id}/download/` redirects, as the real API does, at `/blobs/abc/def/{blob}`.
   */
  s3Url: string;
  faults: Fault[];
  /** Every request's `path?query`, in order. */
  requests: string[];
  /** Every User-Agent the upstream was sent. */
  userAgents: Set<string>;
  hippocampomeEncoding: "plain" | "double";
  dandiMoment: "before" | "after";
  /** Source ids served (hippocampome: type ids in the search answer). */
  ids(source: UpstreamSource): string[];
  remove(source: UpstreamSource, sourceId: string): void;
  /** ModelDB only: a metadata edit, which bumps the model's `ver_date` and `ver_number`. */
  editModel(id: string): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

// ---------- recorded data ----------

function neuroMorphoNeurons(): Json[] {
  const sample = json<Json[]>("neuromorpho/neurons-reconstructed.sample.json");
  return [json<Json>("neuromorpho/neuron-1.json"), ...sample];
}

function modelDbModels(): Json[] {
  const dir = new URL("modeldb/models/", RECORDED);
  // The API lists models in database order; ascending id is what the recorded region lists show.
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => json<Json>(`modeldb/models/${f}`))
    .sort((a, b) => (a.id as number) - (b.id as number));
}

interface DandiVersion {
  version: string;
  modified: string;
  file: string;
}
interface DandiTimeline {
  identifier: string;
  versions: DandiVersion[];
  drafts: DandiVersion[];
}

/** The operator keys dandi-archive's search parser knows (services/search/parser.py). */
const DANDI_OPERATORS = new Set([
  "created_before",
  "created_after",
  "modified_before",
  "modified_after",
  "published_before",
  "published_after",
  "species",
  "approach",
  "technique",
  "file_type",
  "owner",
]);

/**
 * DANDI's search grammar as its parser reads it: `key:"v"`, `"free text"`, `key:v`, bare words.
 * An unknown operator key is a 400 with the parser's message; operators this loopback does not
 * evaluate are reported as unsupported rather than ignored.
 */
function dandiSearch(search: string): { words: string[] } | { error: string } {
  if ((search.match(/"/g) ?? []).length % 2)
    return {
      error:
        "Unbalanced quote in search query. Remove the stray quote, or wrap the intended phrase in matched quotes.",
    };
  const words: string[] = [];
  for (const m of search.matchAll(/([a-z_]+):"([^"]*)"|"([^"]*)"|(\S+)/g)) {
    const bare = m[4] ? /^([a-z_]+):(.+)$/.exec(m[4]) : null;
    const key = m[1] ?? bare?.[1];
    if (key !== undefined) {
      if (!DANDI_OPERATORS.has(key))
        return {
          error: `Unknown search operator "${key}". Wrap the term in double quotes (e.g. "foo:bar") to search for it as text.`,
        };
      return { error: `operator "${key}" is not evaluated by the loopback upstream` };
    }
    const word = (m[3] ?? m[4] ?? "").toLowerCase();
    if (word) words.push(word);
  }
  return { words };
}

// ---------- server ----------

export async function startUpstreamServer(options: UpstreamOptions = {}): Promise<UpstreamServer> {
  let neurons = neuroMorphoNeurons();
  let models = modelDbModels();
  const removedDandisets = new Set<string>();
  const removedTypes = new Set<string>();
  const timeline = json<DandiTimeline[]>("dandi/dandisets.timeline.json");
  const lists = {
    before: json<{ results: Json[] }>("dandi/list-hippocampus.before.json").results,
    after: json<{ results: Json[] }>("dandi/list-hippocampus.after.json").results,
  };
  const search = json<Record<string, { source_id: string; source_name: string }>>(
    "hippocampome/search/neuron-all-subregions.first35.json",
  );
  const apache404 = text("hippocampome/apache-404.html");
  // asset_id → blob id, from every recorded asset list.
  const blobs = new Map<string, string>();
  for (const t of timeline)
    for (const v of [...t.versions, ...t.drafts]) {
      const file = `dandi/${v.file.replace(/\.json$/, ".assets.json")}`;
      try {
        for (const a of json<{ asset_id: string; blob: string | null }[]>(file))
          if (a.blob) blobs.set(a.asset_id, a.blob);
      } catch {
        // A version with no recorded asset list (000061) has no assets to download.
      }
    }
  const faults: Fault[] = [...(options.faults ?? [])];
  const requests: string[] = [];
  const userAgents = new Set<string>();
  let origin = "";
  const state = {
    hippocampomeEncoding: options.hippocampomeEncoding ?? "plain",
    dandiMoment: options.dandiMoment ?? "before",
  } as { hippocampomeEncoding: "plain" | "double"; dandiMoment: "before" | "after" };

  function takeFault(pathAndQuery: string): Fault | undefined {
    const i = faults.findIndex((f) =>
      typeof f.match === "string" ? pathAndQuery.includes(f.match) : f.match.test(pathAndQuery),
    );
    if (i < 0) return undefined;
    const fault = faults[i]!;
    const left = (fault.times ?? 1) - 1;
    if (left <= 0) faults.splice(i, 1);
    else fault.times = left;
    return fault;
  }

  /** The draft as it was at the served moment: the last recorded draft not after that moment. */
  function dandiDraft(id: string): DandiVersion | undefined {
    const t = timeline.find((x) => x.identifier === id);
    const item = dandiItems().find((x) => x.identifier === id);
    const modified = (item?.draft_version as Json | undefined)?.modified;
    return t?.drafts.find((d) => d.modified === modified);
  }

  /** The recorded file of a version as it was at the served moment. */
  function dandiVersionFile(id: string, v: string): string | undefined {
    if (!dandiItems().some((x) => x.identifier === id)) return undefined;
    if (v === "draft") return dandiDraft(id)?.file;
    return timeline
      .find((x) => x.identifier === id)
      ?.versions.find(
        (x) => x.version === v && (state.dandiMoment === "after" || x.modified < "2023-06-29T12:00:00Z"),
      )?.file;
  }

  function dandiItems(): Json[] {
    return lists[state.dandiMoment].filter((x) => !removedDandisets.has(x.identifier as string));
  }

  type Reply = [number, string, string | Buffer, Record<string, string>?];

  function route(url: URL, empty: boolean): Reply {
    const reply = (value: unknown, status = 200): Reply => [
      status,
      "application/json",
      JSON.stringify(value),
    ];
    const p = url.pathname;
    const q = url.searchParams;

    // ---- NeuroMorpho (Spring Data REST) ----
    if (p === "/api/health") return [200, "application/json", text("neuromorpho/health.json")];
    if (p === "/api/neuron/select") {
      const filters: [string, string[]][] = [];
      for (const term of [...q.getAll("q"), ...q.getAll("fq")]) {
        const at = term.indexOf(":");
        filters.push([
          term.slice(0, at),
          term
            .slice(at + 1)
            .split(",")
            .map((v) => v.trim().replace(/^"|"$/g, "").toLowerCase()),
        ]);
      }
      const matches = neurons.filter((n) =>
        filters.every(([field, values]) => {
          const v = n[field];
          const have = (Array.isArray(v) ? v : [v]).map((x) => String(x).toLowerCase());
          return have.some((h) => values.includes(h));
        }),
      );
      if (matches.length === 0) {
        return [404, "application/json", text("neuromorpho/select-no-match.404.json")];
      }
      const size = Math.min(Number(q.get("size") ?? 50), 500);
      const page = Number(q.get("page") ?? 0);
      const totalPages = Math.ceil(matches.length / size);
      const slice = empty ? [] : matches.slice(page * size, (page + 1) * size);
      const link = (n: number) => ({
        href: `${origin}/api/neuron/select?${q.toString().replace(/page=\d+/, `page=${n}`)}`,
      });
      return reply({
        ...(slice.length ? { _embedded: { neuronResources: slice } } : {}),
        _links: {
          first: link(0),
          self: link(page),
          ...(page + 1 < totalPages ? { next: link(page + 1) } : {}),
          last: link(Math.max(0, totalPages - 1)),
        },
        page: { size, totalElements: matches.length, totalPages, number: page },
      });
    }
    const byId = /^\/api\/neuron\/id\/(\d+)$/.exec(p);
    if (byId) {
      const n = neurons.find((x) => String(x.neuron_id) === byId[1]);
      return n
        ? reply(n)
        : reply({ status: 404, error: "Not Found", message: "Requested neuron not found", path: p }, 404);
    }
    if (p.startsWith("/dableFiles/")) {
      return [200, "text/plain", "# loopback upstream\n1 1 0 0 0 5.0 -1\n2 3 0 10 0 1.0 1\n"];
    }

    // ---- Hippocampome (php_v2 master) ----
    if (p === "/php/search_engine_json.php") {
      if (!q.has("query_str")) return [200, "text/html", ""];
      const query = q.get("query_str") ?? "";
      const bad = /Soma:(\w+):(\S*?)[\s)]/.exec(`${query} `);
      if (!/^(Neuron|Connection):\(/.test(query) || (bad && !/^(DG|CA3|CA2|CA1|Sub|SUB|EC)$/.test(bad[1]!))) {
        return [
          200,
          "text/html",
          `<br>Invalid count of ${bad?.[1] ?? ""}:${bad?.[2] ?? ""} for condition Soma<br>[]`,
        ];
      }
      const hits = empty ? [] : Object.values(search).filter((h) => !removedTypes.has(h.source_id));
      const value = hits.length ? Object.fromEntries(hits.map((h, i) => [String(i + 1), h])) : [];
      const body =
        state.hippocampomeEncoding === "double"
          ? JSON.stringify(JSON.stringify(value))
          : JSON.stringify(value);
      return [200, "application/json", body];
    }
    const published = Object.values(HIPPOCAMPOME_PUBLISHED).find((t) => t.path === p);
    if (published) {
      // GitHub's raw host labels every text file UTF-8, whatever its bytes are.
      return [200, "text/plain; charset=utf-8", bytes(`${PUBLISHED_DIR}/${published.file}`)];
    }
    if (p === "/php/data/conndata.csv") {
      return [200, "text/csv", bytes("hippocampome/php/data/conndata.third.csv")];
    }
    if (p.startsWith("/php/") || p.startsWith("/csv2db/"))
      return [404, "text/html; charset=iso-8859-1", apache404];

    // ---- ModelDB (Django, modeldb2020/api_v1.py) ----
    if (p.startsWith("/api/v1/models")) {
      let list = models;
      for (const [field, value] of q.entries()) {
        list = list.filter((m) => {
          const v = (m[field] as { value?: unknown } | undefined)?.value;
          const items = Array.isArray(v) ? (v as { object_id?: number; object_name?: string }[]) : [];
          return items.some((o) => o.object_name === value || String(o.object_id) === value);
        });
      }
      if (empty) list = [];
      const rest = p.slice("/api/v1/models".length).replace(/^\//, "");
      // Python's json.dumps separators, as the real server writes them.
      const py = (v: unknown): Reply => [200, "application/json", JSON.stringify(v).replace(/,/g, ", ")];
      if (rest === "") return py(list.map((m) => m.id));
      if (/^\d+$/.test(rest)) {
        const m = models.find((x) => String(x.id) === rest);
        return m ? [200, "application/json", JSON.stringify(m)] : [404, "text/plain", "404 Not Found"];
      }
      return py(list.map((m) => m[rest] ?? null));
    }
    const download = /^\/download\/(\d+)$/.exec(p);
    if (download) {
      if (!models.some((m) => String(m.id) === download[1]))
        return [403, "text/html", "<h1>403 Forbidden</h1>"];
      return [
        200,
        "application/zip",
        Buffer.from([0x50, 0x4b, 5, 6, ...new Array<number>(18).fill(0)]),
        { "content-disposition": `attachment; filename=${download[1]}.zip` },
      ];
    }

    // ---- DANDI (Django REST framework) ----
    if (p === "/api/dandisets/") {
      const parsed = dandiSearch(q.get("search") ?? "");
      if ("error" in parsed) return reply({ search: [parsed.error] }, 400);
      const words = parsed.words;
      // The recorded lists ARE the answer to `search=hippocampus` (the server matches words in every
      // version's metadata); other words are matched against the recorded list items and metadata.
      let list = dandiItems().filter((item) => {
        if (words.join(" ") === "hippocampus") return true;
        const t = timeline.find((x) => x.identifier === item.identifier);
        const files = [...(t?.versions ?? []), ...(t?.drafts ?? [])].map((v) => text(`dandi/${v.file}`));
        const hay = JSON.stringify([item, files]).toLowerCase();
        return words.every((w) => hay.includes(w));
      });
      const ordering = q.get("ordering") ?? "id";
      // `modified` ordering is by the most recently created version's modified, not the item's.
      const latest = (item: Json) =>
        ((item.most_recent_published_version ?? item.draft_version) as { modified?: string } | null)
          ?.modified ?? "";
      const key = ordering.replace(/^-/, "") === "modified" ? latest : (i: Json) => String(i.identifier);
      list = [...list].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
      if (ordering.startsWith("-")) list.reverse();
      const pageSize = Math.min(Number(q.get("page_size") ?? 100), 1000);
      const page = Number(q.get("page") ?? 1);
      const slice = empty ? [] : list.slice((page - 1) * pageSize, page * pageSize);
      const pageUrl = (n: number) => {
        const params = new URLSearchParams(q);
        params.set("page", String(n));
        params.sort();
        return `${origin}/api/dandisets/?${params.toString()}`;
      };
      return reply({
        count: list.length,
        next: page * pageSize < list.length ? pageUrl(page + 1) : null,
        previous: page > 1 ? pageUrl(page - 1) : null,
        results: slice,
      });
    }
    const assets = /^\/api\/dandisets\/(\d{6})\/versions\/([^/]+)\/assets\/$/.exec(p);
    if (assets) {
      const file = dandiVersionFile(assets[1]!, assets[2]!);
      if (!file) return reply({ detail: "Not found." }, 404);
      const all = json<Json[]>(`dandi/${file.replace(/\.json$/, ".assets.json")}`);
      const pageSize = Math.min(Number(q.get("page_size") ?? 100), 1000);
      const page = Number(q.get("page") ?? 1);
      const pageUrl = (n: number) => {
        const params = new URLSearchParams(q);
        params.set("page", String(n));
        params.sort();
        return `${origin}${p}?${params.toString()}`;
      };
      return reply({
        count: all.length,
        next: page * pageSize < all.length ? pageUrl(page + 1) : null,
        previous: page > 1 ? pageUrl(page - 1) : null,
        results: empty ? [] : all.slice((page - 1) * pageSize, page * pageSize),
      });
    }
    const asset = /^\/api\/assets\/([0-9a-f-]{36})\/download\/$/.exec(p);
    if (asset) {
      const blob = blobs.get(asset[1]!);
      if (!blob) return reply({ detail: "Not found." }, 404);
      const key = `blobs/${blob.slice(0, 3)}/${blob.slice(3, 6)}/${blob}`;
      return [302, "text/html; charset=utf-8", "", { location: `${s3Origin}/${key}` }];
    }
    const version = /^\/api\/dandisets\/(\d{6})\/versions\/([^/]+)\/$/.exec(p);
    if (version) {
      const file = dandiVersionFile(version[1]!, version[2]!);
      return file ? [200, "application/json", text(`dandi/${file}`)] : reply({ detail: "Not found." }, 404);
    }
    return [404, "text/plain", "Not Found"];
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", origin);
    const pathAndQuery = `${url.pathname}${url.search}`;
    requests.push(pathAndQuery);
    userAgents.add(req.headers["user-agent"] ?? "");
    req.resume();
    req.on("end", () => {
      const fault = takeFault(pathAndQuery);
      if (fault?.kind === "hang") return; // never answers; the client must time out
      if (fault?.kind === "page") {
        res
          .writeHead(200, { "content-type": fault.contentType ?? "text/html;charset=UTF-8" })
          .end(
            "<!DOCTYPE html>\n<html><head><title>Error</title></head><body>File not found</body></html>\n",
          );
        return;
      }
      if (fault?.kind === "status") {
        const headers: Record<string, string> = { "content-type": "text/html" };
        if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
        res
          .writeHead(fault.status ?? 500, headers)
          .end(`<html><body>Error ${fault.status ?? 500}</body></html>`);
        return;
      }
      try {
        const [status, type, body, headers] = route(url, fault?.kind === "empty");
        const out = fault?.kind === "malformed" ? body.slice(0, Math.floor(body.length / 2)) : body;
        res.writeHead(status, { "content-type": type, ...headers }).end(out);
      } catch (err) {
        res.writeHead(500, { "content-type": "text/plain" }).end(String(err));
      }
    });
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // The S3 stand-in: NWB bodies are gigabytes and not recorded, so each blob answers a short
  // placeholder naming it; what matters here is the redirect to another host.
  const s3 = http.createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://s3").pathname;
    requests.push(`s3:${path}`);
    const blob = /^\/blobs\/[0-9a-f]{3}\/[0-9a-f]{3}\/([0-9a-f-]{36})$/.exec(path)?.[1];
    if (!blob || ![...blobs.values()].includes(blob)) {
      res.writeHead(404, { "content-type": "application/xml" }).end("<Error><Code>NoSuchKey</Code></Error>");
      return;
    }
    res
      .writeHead(200, { "content-type": "application/x-hdf5" })
      .end(`loopback placeholder of blob ${blob}\n`);
  });
  await new Promise<void>((resolve) => s3.listen(0, "127.0.0.1", resolve));
  const s3Origin = `http://127.0.0.1:${(s3.address() as AddressInfo).port}`;

  return {
    url: origin,
    s3Url: s3Origin,
    faults,
    requests,
    userAgents,
    get hippocampomeEncoding() {
      return state.hippocampomeEncoding;
    },
    set hippocampomeEncoding(value) {
      state.hippocampomeEncoding = value;
    },
    get dandiMoment() {
      return state.dandiMoment;
    },
    set dandiMoment(value) {
      state.dandiMoment = value;
    },
    ids(source) {
      switch (source) {
        case "neuromorpho":
          return neurons.map((n) => String(n.neuron_id));
        case "modeldb":
          return models.map((m) => String(m.id));
        case "dandi":
          return dandiItems().map((s) => String(s.identifier));
        case "hippocampome":
          return Object.values(search)
            .map((h) => h.source_id)
            .filter((id) => !removedTypes.has(id));
      }
    },
    remove(source, id) {
      if (source === "neuromorpho") neurons = neurons.filter((n) => String(n.neuron_id) !== id);
      if (source === "modeldb") models = models.filter((m) => String(m.id) !== id);
      if (source === "dandi") removedDandisets.add(id);
      if (source === "hippocampome") removedTypes.add(id);
    },
    editModel(id) {
      models = models.map((m) => {
        if (String(m.id) !== id) return m;
        const date = new Date(Date.parse(`${String(m.ver_date).replace(/\+00:00$/, "")}Z`) + 86_400_000);
        return {
          ...m,
          name: `${String(m.name).trim()} (revised)`,
          ver_number: Number(m.ver_number ?? 0) + 1,
          ver_date: date.toISOString().replace("Z", ""),
        };
      });
    },
    async close() {
      server.closeAllConnections();
      s3.closeAllConnections();
      await Promise.all([
        new Promise<void>((resolve) => server.close(() => resolve())),
        new Promise<void>((resolve) => s3.close(() => resolve())),
      ]);
    },
  };
}

// `npx tsx functions/loopback/upstream.ts [port]` serves the recordings for manual exploration.
if (import.meta.url === `file://${process.argv[1]}`) {
  void startUpstreamServer({ port: Number(process.argv[2] ?? 0) }).then((server) =>
    console.log(`Loopback upstream (NeuroMorpho, Hippocampome, ModelDB, DANDI) on ${server.url}`),
  );
}
