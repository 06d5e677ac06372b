/**
 * Loopback upstream imitating the four public sources the catalog harvests, for tests and
 * `npm run harvest` offline. It imitates, on one HTTP origin:
 * - NeuroMorpho.Org: `GET|POST /api/neuron/select` (q=`field:v1,v2`, HAL envelope
 *   `_embedded.neuronResources`, `page{size,totalElements,totalPages,number}`, `_links`, no
 *   `_embedded` when empty, size capped at 500), `GET /api/neuron/id/{id}`, `/dableFiles/...` SWC
 *   files; `.jsp` pages answer 403 (scripted access is against NeuroMorpho's terms).
 * - Hippocampome.org: `GET /csv2db/search_engine_json.php?query_str=` (and `/php/...`), plain
 *   JSON or JSON encoded twice (`searchAPI_2025` branch), `[]` when nothing matches,
 *   `{"error"}` with 400 on bad syntax; `GET /php/data/type.csv` and `/php/data/conndata.csv`
 *   (UTF-8 BOM, trailing spaces).
 * - ModelDB: `GET /api/v1/models[?field=value]` (integer ids), `/api/v1/models/{field}` (same
 *   order), `/api/v1/models/{id}` (plain-text 404 when unknown), `/download/{id}` zip.
 * - DANDI: `GET /api/dandisets/?page&page_size&ordering&search&empty` (`{count,next,previous,
 *   results}`), `GET /api/dandisets/{id}/versions/{version}/` (dandischema metadata).
 * Records are generated deterministically from the real records in fixtures/ (reference §3);
 * generated names and ids are illustrative. Faults (5xx, 429 + Retry-After, hangs, malformed
 * JSON, empty pages) and upstream edits (a record removed or changed) are injectable at run time.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

export type UpstreamSource = "neuromorpho" | "hippocampome" | "modeldb" | "dandi";

export interface Fault {
  /** Substring (or pattern) of `path?query` the fault applies to. */
  match: string | RegExp;
  kind: "status" | "hang" | "malformed" | "empty";
  status?: number;
  /** Seconds, sent as Retry-After with a status fault. */
  retryAfter?: number;
  /** How many matching requests it affects (default 1; Infinity for every one). */
  times?: number;
}

export interface UpstreamOptions {
  port?: number;
  faults?: Fault[];
  /** Hippocampome search encoding: main branch (`plain`) or `searchAPI_2025` (`double`). */
  hippocampomeEncoding?: "plain" | "double";
}

export interface UpstreamServer {
  url: string;
  faults: Fault[];
  /** Every request's `path?query`, in order. */
  requests: string[];
  hippocampomeEncoding: "plain" | "double";
  /** Source ids of the records served (hippocampome: type ids). */
  ids(source: UpstreamSource): string[];
  remove(source: UpstreamSource, sourceId: string): void;
  /** Edits a record's name and description and bumps its modification date. */
  change(source: UpstreamSource, sourceId: string): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

// ---------- generated data ----------

const NM_REGIONS = [
  ["hippocampus", "CA1", "pyramidal layer"],
  ["hippocampus", "CA3", "stratum oriens"],
  ["hippocampus", "dentate gyrus", "granule layer"],
  ["hippocampus", "subiculum"],
];
const NM_CELLS = [
  ["pyramidal", "principal cell"],
  ["basket", "interneuron"],
  ["granule", "principal cell"],
  ["O-LM", "interneuron"],
];
const NM_ARCHIVES = ["Turner", "Spruston", "Soltesz", "Buzsaki", "Jaffe"];
const NM_FORMATS = ["Neurolucida.asc", "Neurozoom.swc", "Custom.xml"];

function neuroMorphoNeurons(): Json[] {
  const real = JSON.parse(fixture("neuromorpho-neuron-1.json")) as Json;
  const out: Json[] = [real];
  for (let id = 2; id <= 130; id++) {
    const hippocampal = id <= 121;
    const archive = NM_ARCHIVES[id % NM_ARCHIVES.length]!;
    const name = `${archive.toLowerCase()}_${hippocampal ? "hc" : "cx"}_${String(id).padStart(3, "0")}`;
    out.push({
      ...real,
      neuron_id: id,
      neuron_name: name,
      archive,
      note: hippocampal ? `Reconstruction ${id} from the ${archive} archive.` : null,
      brain_region: hippocampal
        ? NM_REGIONS[id % NM_REGIONS.length]
        : ["neocortex", "somatosensory", "layer 5"],
      cell_type: NM_CELLS[id % NM_CELLS.length],
      species: id % 3 === 0 ? "mouse" : "rat",
      strain: id % 3 === 0 ? "C57BL/6" : "Sprague-Dawley",
      scientific_name: id % 3 === 0 ? "Mus musculus" : "Rattus norvegicus",
      original_format: NM_FORMATS[id % NM_FORMATS.length],
      upload_date: `20${String(10 + (id % 14)).padStart(2, "0")}-0${1 + (id % 9)}-15`,
      png_url: `http://neuromorpho.org/images/imageFiles/${archive}/${name}.png`,
      reference_pmid: [String(20000000 + id * 131)],
      reference_doi: [`10.1000/nm.${id}`],
      physical_Integrity: id % 2 ? "Dendrites Complete" : "Dendrites Moderate",
      _links: { self: { href: `http://neuromorpho.org/api/neuron/id/${id}` } },
    });
  }
  return out;
}

const MDB_REGIONS = [
  { object_id: 2021, object_name: "Hippocampus" },
  { object_id: 2022, object_name: "Dentate gyrus" },
  { object_id: 2023, object_name: "Entorhinal cortex" },
];
const MDB_CELLS = [
  "Hippocampus CA1 pyramidal GLU cell",
  "Hippocampus CA3 pyramidal GLU cell",
  "Dentate gyrus granule GLU cell",
  "Hippocampus CA1 basket cell",
  "Entorhinal cortex stellate cell",
];
const MDB_CURRENTS = ["I Na,t", "I K", "I h", "I A", "I K,Ca", "I L high threshold", "I M"];

function modelDbModels(): Json[] {
  const real = JSON.parse(fixture("modeldb-35358.json")) as Json;
  // The stored copy of 35358 carries no region; the live record's region is added for filtering.
  const out: Json[] = [{ ...real, region: { value: [MDB_REGIONS[0]], attr_id: 471 } }];
  for (let i = 1; i < 70; i++) {
    const id = 100000 + i * 1013;
    const hippocampal = i < 60;
    const cell = MDB_CELLS[i % MDB_CELLS.length]!;
    const region = hippocampal
      ? MDB_REGIONS[i % MDB_REGIONS.length]
      : { object_id: 2100, object_name: "Neocortex" };
    out.push({
      id,
      name: hippocampal
        ? `${cell.replace(/ GLU cell$/, "")} model ${i} (Author${i} et al. ${2000 + (i % 24)})`
        : `Cortical column model ${i}`,
      created: `20${String(5 + (i % 18)).padStart(2, "0")}-03-0${1 + (i % 9)}T10:00:00`,
      ver_number: 1 + (i % 7),
      ver_date: `20${String(10 + (i % 14)).padStart(2, "0")}-0${1 + (i % 9)}-1${i % 10}T12:00:00.000`,
      notes: { value: `Model ${i} reproduces figures of the original paper.`, attr_id: 24 },
      neurons: { value: [{ object_id: 300 + (i % 5), object_name: cell }], attr_id: 25 },
      currents: {
        value: [0, 1, 2].map((k) => ({
          object_id: 240 + ((i + k) % 7),
          object_name: MDB_CURRENTS[(i + k) % 7],
        })),
        attr_id: 27,
      },
      region: { value: [region], attr_id: 471 },
      model_concept: {
        value: [{ object_id: 3639, object_name: i % 2 ? "Active Dendrites" : "Oscillations" }],
        attr_id: 113,
      },
      modeling_application: { value: [{ object_id: 1882, object_name: "NEURON" }], attr_id: 114 },
      model_paper: {
        value: [{ object_id: 6000 + i, object_name: `Author${i} A, Other B (${2000 + (i % 24)})` }],
        attr_id: 155,
      },
      implemented_by: {
        value: [{ object_id: 34000 + i, object_name: `Author${i}, A [author${i} at example.org]` }],
        attr_id: 299,
      },
      public_submitter_email: { value: `submitter${i}@example.org`, attr_id: 309 },
      ...(i % 4 === 0 ? { license: { value: "CC-BY-4.0", attr_id: 700 } } : {}),
    });
  }
  return out.sort((a, b) => (a.id as number) - (b.id as number));
}

interface Dandiset {
  item: Json & { identifier: string; modified: string };
  metadata: Json;
}

const DANDI_APPROACHES = ["electrophysiological approach", "microscopy approach", "behavioral approach"];

function dandisets(): Dandiset[] {
  const real = JSON.parse(fixture("dandi-000027.json")) as { listItem: Dandiset["item"]; metadata: Json };
  const out: Dandiset[] = [{ item: real.listItem, metadata: real.metadata }];
  for (let i = 1; i <= 30; i++) {
    const identifier = String(200 + i * 7).padStart(6, "0");
    const modified = new Date(Date.UTC(2022, 0, 1) + i * 17 * 86_400_000).toISOString();
    const published = i % 3 !== 0;
    const version = published ? `0.2${String(20000 + i * 101).padStart(5, "0")}.${1000 + i}` : "draft";
    const name = `Hippocampal ${["CA1 place cells", "dentate gyrus granule cells", "sharp-wave ripples"][i % 3]} dataset ${i}`;
    const summary = {
      version,
      name,
      asset_count: 10 + i,
      size: 1_000_000 * i,
      status: published ? "Published" : "Valid",
      created: modified,
      modified,
    };
    out.push({
      item: {
        ...real.listItem,
        identifier,
        created: modified,
        modified,
        contact_person: `Researcher ${i}`,
        draft_version: { ...summary, version: "draft", status: "Valid" },
        most_recent_published_version: published ? summary : null,
      },
      metadata: {
        ...real.metadata,
        id: `DANDI:${identifier}/${version}`,
        name,
        description: `Recordings from the hippocampus of ${i % 2 ? "mice" : "rats"} (dataset ${i}).`,
        citation: `Researcher ${i} (2022) ${name} (Version ${version}) [Data set]. DANDI archive.`,
        doi: published ? `10.48324/dandi.${identifier}/${version}` : undefined,
        license: [i % 2 ? "spdx:CC-BY-4.0" : "spdx:CC0-1.0"],
        contributor: [{ schemaKey: "Person", name: `Researcher ${i}`, roleName: ["dcite:ContactPerson"] }],
        about: [{ schemaKey: "Anatomy", name: i % 2 ? "Hippocampal formation" : "CA1 field of hippocampus" }],
        assetsSummary: {
          ...(real.metadata.assetsSummary as Json),
          numberOfBytes: 1_000_000 * i,
          numberOfFiles: 10 + i,
          species: [{ schemaKey: "SpeciesType", name: i % 2 ? "House mouse" : "Brown rat" }],
          approach: [{ schemaKey: "ApproachType", name: DANDI_APPROACHES[i % 3] }],
        },
      },
    });
  }
  return out;
}

// ---------- server ----------

export async function startUpstreamServer(options: UpstreamOptions = {}): Promise<UpstreamServer> {
  let neurons = neuroMorphoNeurons();
  let models = modelDbModels();
  let sets = dandisets();
  let typeCsv = fixture("hippocampome-type.csv");
  const connCsv = fixture("hippocampome-conndata.csv");
  const faults: Fault[] = [...(options.faults ?? [])];
  const requests: string[] = [];
  let origin = "";

  const state = {
    hippocampomeEncoding: options.hippocampomeEncoding ?? "plain",
  } as { hippocampomeEncoding: "plain" | "double" };

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

  function typeRows(): Record<string, string>[] {
    const [header, ...rows] = typeCsv
      .replace(/^\uFEFF/, "")
      .trim()
      .split("\n");
    const keys = header!.split(",");
    // Only the plain rows are read here; the harvester does the real CSV parsing.
    return rows.map((r) => Object.fromEntries(r.split(",").map((v, i) => [keys[i]!, v.trim()])));
  }

  function route(
    req: http.IncomingMessage,
    url: URL,
    body: string,
    empty: boolean,
  ): [number, string, string, Record<string, string>?] {
    const json = (value: unknown, status = 200): [number, string, string] => [
      status,
      "application/json",
      JSON.stringify(value),
    ];
    const p = url.pathname;
    const q = url.searchParams;

    // NeuroMorpho
    if (p.endsWith(".jsp")) return [403, "text/plain", "Scripted access to .jsp pages is not permitted"];
    if (p === "/api/neuron/select") {
      const filters: [string, string[]][] = [];
      for (const term of [...q.getAll("q"), ...q.getAll("fq")]) {
        const [field, values] = [term.slice(0, term.indexOf(":")), term.slice(term.indexOf(":") + 1)];
        filters.push([field, values.split(",").map((v) => v.trim().toLowerCase())]);
      }
      if (req.method === "POST" && body) {
        for (const [field, values] of Object.entries(JSON.parse(body) as Record<string, string[]>)) {
          filters.push([field, values.map((v) => v.toLowerCase())]);
        }
      }
      const matches = neurons.filter((n) =>
        filters.every(([field, values]) => {
          const v = n[field];
          const have = (Array.isArray(v) ? v : [v]).map((x) => String(x).toLowerCase());
          return have.some((h) => values.includes(h));
        }),
      );
      const size = Math.min(Number(q.get("size") ?? 50), 500);
      const page = Number(q.get("page") ?? 0);
      const totalPages = Math.ceil(matches.length / size);
      const slice = empty ? [] : matches.slice(page * size, (page + 1) * size);
      const link = (n: number) => ({
        href: `${origin}/api/neuron/select?${q.toString().replace(/page=\d+/, `page=${n}`)}`,
      });
      return json({
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
      return n ? json(n) : json({ error: "Not Found", status: 404 }, 404);
    }
    if (p.startsWith("/dableFiles/")) {
      return [
        200,
        "text/plain",
        "# generated by the loopback upstream\n1 1 0 0 0 5.0 -1\n2 3 0 10 0 1.0 1\n",
      ];
    }

    // Hippocampome
    if (p === "/csv2db/search_engine_json.php" || p === "/php/search_engine_json.php") {
      const query = q.get("query_str") ?? "";
      const encode = (v: unknown) =>
        state.hippocampomeEncoding === "double" ? JSON.stringify(JSON.stringify(v)) : JSON.stringify(v);
      if (!/^(Neuron|Connection):\(/.test(query)) {
        return [
          400,
          "application/json",
          encode({ error: "Invalid query syntax. Please check your query and try again." }),
        ];
      }
      const subregions = new Set([...query.matchAll(/Soma:(DG|CA3|CA2|CA1|SUB|EC):/g)].map((m) => m[1]));
      const hits = empty ? [] : typeRows().filter((r) => subregions.has(r.subregion));
      if (hits.length === 0) return [200, "application/json", encode([])];
      const result = Object.fromEntries(
        hits.map((r, i) => [String(i + 1), { source_id: r.id, source_name: r.short_name }]),
      );
      return [200, "application/json", encode(result)];
    }
    if (p === "/php/data/type.csv") return [200, "text/csv; charset=utf-8", typeCsv];
    if (p === "/php/data/conndata.csv") return [200, "text/csv; charset=utf-8", connCsv];

    // ModelDB
    if (p.startsWith("/api/v1/models")) {
      let list = models;
      for (const [field, value] of q.entries()) {
        if (field === "indent") continue;
        list = list.filter((m) => {
          const v = (m[field] as { value?: { object_id: number; object_name: string }[] } | undefined)?.value;
          return (
            Array.isArray(v) &&
            v.some(
              (o) => o.object_name.toLowerCase() === value.toLowerCase() || String(o.object_id) === value,
            )
          );
        });
      }
      if (empty) list = [];
      const rest = p.slice("/api/v1/models".length).replace(/^\//, "");
      if (rest === "") return json(list.map((m) => m.id));
      if (/^\d+$/.test(rest)) {
        const m = models.find((x) => String(x.id) === rest);
        if (!m) return [404, "text/plain", "404 Not Found"];
        return json(m);
      }
      return json(list.map((m) => m[rest] ?? null));
    }
    const download = /^\/download\/(\d+)$/.exec(p);
    if (download) {
      if (!models.some((m) => String(m.id) === download[1])) return [404, "text/plain", "404 Not Found"];
      return [
        200,
        "application/zip",
        "PK\u0005\u0006" + "\u0000".repeat(18),
        { "content-disposition": `attachment; filename=${download[1]}.zip` },
      ];
    }

    // DANDI
    if (p === "/api/dandisets/") {
      const search = (q.get("search") ?? "").toLowerCase();
      let list = sets.filter(
        (s) =>
          !search ||
          JSON.stringify([s.metadata.name, s.metadata.description, s.metadata.about])
            .toLowerCase()
            .includes(search),
      );
      const ordering = q.get("ordering") ?? "id";
      const key =
        ordering.replace(/^-/, "") === "modified"
          ? (s: Dandiset) => s.item.modified
          : (s: Dandiset) => s.item.identifier;
      list = [...list].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
      if (ordering.startsWith("-")) list.reverse();
      const pageSize = Math.min(Number(q.get("page_size") ?? 100), 1000);
      const page = Number(q.get("page") ?? 1);
      const slice = empty ? [] : list.slice((page - 1) * pageSize, page * pageSize);
      const pageUrl = (n: number) =>
        `${origin}/api/dandisets/?${q.toString().replace(/page=\d+/, `page=${n}`)}`;
      return json({
        count: list.length,
        next: page * pageSize < list.length ? pageUrl(page + 1) : null,
        previous: page > 1 ? pageUrl(page - 1) : null,
        results: slice.map((s) => s.item),
      });
    }
    const version = /^\/api\/dandisets\/(\d{6})\/versions\/([^/]+)\/$/.exec(p);
    if (version) {
      const s = sets.find((x) => x.item.identifier === version[1]);
      return s ? json(s.metadata) : json({ detail: "Not found." }, 404);
    }
    return [404, "text/plain", "Not Found"];
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", origin);
    const pathAndQuery = `${url.pathname}${url.search}`;
    requests.push(pathAndQuery);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const fault = takeFault(pathAndQuery);
      if (fault?.kind === "hang") return; // never answers; the client must time out
      if (fault?.kind === "status") {
        const headers: Record<string, string> = { "content-type": "text/html" };
        if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
        res
          .writeHead(fault.status ?? 500, headers)
          .end(`<html><body>Error ${fault.status ?? 500}</body></html>`);
        return;
      }
      try {
        const [status, type, body, headers] = route(
          req,
          url,
          Buffer.concat(chunks).toString("utf8"),
          fault?.kind === "empty",
        );
        const out = fault?.kind === "malformed" ? body.slice(0, Math.floor(body.length / 2)) : body;
        res.writeHead(status, { "content-type": type, ...headers }).end(out);
      } catch (err) {
        res.writeHead(500, { "content-type": "text/plain" }).end(String(err));
      }
    });
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // A changed dandiset becomes the most recently modified one, as a real edit would.
  const later = (iso: string) => (iso < "2026-01-01T00:00:00.000Z" ? "2026-01-01T00:00:00.000Z" : bump(iso));
  const bump = (iso: string) =>
    new Date(Date.parse(iso.endsWith("Z") ? iso : `${iso}Z`) + 86_400_000).toISOString();

  return {
    url: origin,
    faults,
    requests,
    get hippocampomeEncoding() {
      return state.hippocampomeEncoding;
    },
    set hippocampomeEncoding(value) {
      state.hippocampomeEncoding = value;
    },
    ids(source) {
      switch (source) {
        case "neuromorpho":
          return neurons.map((n) => String(n.neuron_id));
        case "modeldb":
          return models.map((m) => String(m.id));
        case "dandi":
          return sets.map((s) => s.item.identifier);
        case "hippocampome":
          return typeRows().map((r) => r.id!);
      }
    },
    remove(source, id) {
      if (source === "neuromorpho") neurons = neurons.filter((n) => String(n.neuron_id) !== id);
      if (source === "modeldb") models = models.filter((m) => String(m.id) !== id);
      if (source === "dandi") sets = sets.filter((s) => s.item.identifier !== id);
      if (source === "hippocampome") {
        typeCsv = typeCsv
          .split("\n")
          .filter((line) => !line.startsWith(`${id},`))
          .join("\n");
      }
    },
    change(source, id) {
      if (source === "neuromorpho") {
        neurons = neurons.map((n) =>
          String(n.neuron_id) === id
            ? {
                ...n,
                note: `${typeof n.note === "string" ? n.note : ""} Revised.`,
                upload_date: "2025-01-01",
              }
            : n,
        );
      }
      if (source === "modeldb") {
        models = models.map((m) =>
          String(m.id) === id
            ? { ...m, name: `${String(m.name)} (revised)`, ver_date: bump(String(m.ver_date)) }
            : m,
        );
      }
      if (source === "dandi") {
        sets = sets.map((s) =>
          s.item.identifier === id
            ? {
                item: { ...s.item, modified: later(s.item.modified) },
                metadata: { ...s.metadata, name: `${String(s.metadata.name)} (revised)` },
              }
            : s,
        );
      }
      if (source === "hippocampome") {
        typeCsv = typeCsv
          .split("\n")
          .map((line) => (line.startsWith(`${id},`) ? line.replace(/,active,/, ",active,Revised ") : line))
          .join("\n");
      }
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// `npx tsx functions/loopback/upstream.ts [port]` serves the fixtures for manual exploration.
if (import.meta.url === `file://${process.argv[1]}`) {
  void startUpstreamServer({ port: Number(process.argv[2] ?? 0) }).then((server) =>
    console.log(`Loopback upstream (NeuroMorpho, Hippocampome, ModelDB, DANDI) on ${server.url}`),
  );
}
