/**
 * Hippocampome.org: neuron types, their potential connections and their molecular markers in the
 * rodent hippocampal formation.
 *
 * What the site really serves (harvest review §2): the search script at
 * `/php/search_engine_json.php` (the help page's `/csv2db/` path is tried when that 404s) and
 * `/php/data/conndata.csv`, which predates v2.0 (review §2), so connections are read from the v2
 * published file instead. The site serves no type table: type details, marker evidence,
 * morphology, electrophysiology and the v2 connections come from the project's own published
 * import files on GitHub (`csv2db_import_v2/iconv/latin1/{type,markerdata,morphdata,epdata,
 * conndata}.csv`, Latin-1). Every URL is a param. The all-`?` search patterns select every type that has a connection, so the
 * subregion filter is applied here, on each type's subregion (`Sub` in the files, `SUB` in the
 * query language). Neuron pages are never scraped.
 */
import { z } from "zod";

import type { CatalogCitation, CatalogContent } from "../schemas/catalog.js";
import { csvObjects, parseCsv } from "./csv.js";
import {
  parseEphys,
  parseMorphology,
  propertyAttributes,
  type TypeEphys,
  type TypeMorphology,
} from "./hippocampome-properties.js";
import { isNotFound, readCapped, UpstreamError } from "./http.js";
import {
  joinUrl,
  uniq,
  type SourceHarvester,
  type SourceOptions,
  type StepContext,
  type StepProblem,
} from "./types.js";

/** Subregion codes of the hippocampal formation, as Hippocampome's query language spells them. */
export const HIPPOCAMPOME_SUBREGIONS = ["DG", "CA3", "CA2", "CA1", "SUB", "EC"] as const;

/** Layer order per subregion, one pattern character per layer (Hippocampome search help). */
export const HIPPOCAMPOME_LAYERS: Record<string, string[]> = {
  DG: ["SMo", "SMi", "SG", "H"],
  CA3: ["SLM", "SR", "SL", "SP", "SO"],
  CA2: ["SLM", "SR", "SP", "SO"],
  CA1: ["SLM", "SR", "SP", "SO"],
  SUB: ["SM", "SP", "PL"],
  EC: ["I", "II", "III", "IV", "V", "VI"],
};

const REGION_NAMES: Record<string, string> = {
  DG: "dentate gyrus",
  CA3: "CA3",
  CA2: "CA2",
  CA1: "CA1",
  SUB: "subiculum",
  EC: "entorhinal cortex",
};

/** Academic server: one request at a time, two seconds apart. */
export const HIPPOCAMPOME_HOST_POLICY = { concurrency: 1, minIntervalMs: 2000 };

const GITHUB_DATA = "https://raw.githubusercontent.com/Hippocampome-Org/csv2db_import_v2/master/iconv/latin1";
export const HIPPOCAMPOME_DEFAULT_TYPES_CSV_URL = `${GITHUB_DATA}/type.csv`;
export const HIPPOCAMPOME_DEFAULT_MARKERS_CSV_URL = `${GITHUB_DATA}/markerdata.csv`;
export const HIPPOCAMPOME_DEFAULT_MORPHOLOGY_CSV_URL = `${GITHUB_DATA}/morphdata.csv`;
export const HIPPOCAMPOME_DEFAULT_EPHYS_CSV_URL = `${GITHUB_DATA}/epdata.csv`;
/** v2.0 connections; the site's `/php/data/conndata.csv` is the pre-v2 table (review §2). */
export const HIPPOCAMPOME_DEFAULT_CONNECTIONS_CSV_URL = `${GITHUB_DATA}/conndata.csv`;

export interface HippocampomeOptions extends SourceOptions {
  /** Default `{base}/php/search_engine_json.php`, then `{base}/csv2db/…` on 404. */
  searchUrl?: string;
  /** Default: the published type table on GitHub (Latin-1). */
  typesCsvUrl?: string;
  /** Encoding of the published tables (default Latin-1, as `iconv/latin1/` holds them). */
  publishedCsvEncoding?: "utf-8" | "latin1";
  /** Default: the published v2 connection table on GitHub (Latin-1, with its `Connection?` flag). */
  connectionsCsvUrl?: string;
  /** Default: the published marker evidence on GitHub (Latin-1). */
  markersCsvUrl?: string;
  /** Default: the published morphology table on GitHub (Latin-1). */
  morphologyCsvUrl?: string;
  /** Default: the published electrophysiology table on GitHub (Latin-1). */
  ephysCsvUrl?: string;
}

const CITATIONS: CatalogCitation[] = [
  { text: "Hippocampome.org (RRID:SCR_009023)" },
  { text: "Wheeler DW et al. (2015) Hippocampome.org. eLife 4:e09960", doi: "10.7554/eLife.09960" },
  { text: "Wheeler DW et al. (2024) Hippocampome.org 2.0. eLife 12:RP90597", doi: "10.7554/eLife.90597" },
];

/** Accepts both encodings of the search API and its empty-list form; throws on `{error}`. */
export function parseSearchResponse(body: string): { id: string; name?: string }[] {
  let value: unknown = JSON.parse(body);
  if (typeof value === "string") value = JSON.parse(value);
  if (Array.isArray(value)) value = Object.fromEntries(value.map((v, i) => [String(i + 1), v]));
  if (!value || typeof value !== "object")
    throw new Error("Hippocampome search returned neither object nor list");
  if ("error" in value) throw new UpstreamError(`Hippocampome search: ${String(value.error)}`, "search", 400);
  const entries = z
    .record(
      z.string(),
      z.looseObject({ source_id: z.union([z.string(), z.number()]), source_name: z.string().nullish() }),
    )
    .parse(value);
  return Object.values(entries).map((e) => ({
    id: String(e.source_id).trim(),
    ...(e.source_name ? { name: e.source_name.trim() } : {}),
  }));
}

/** Layers a type occupies, `DG:SMo`, from its axon/dendrite (digits) and soma (`S`) patterns. */
export function typeLayers(subregion: string, axonDendrite: string, soma: string): string[] {
  const names = HIPPOCAMPOME_LAYERS[subregion] ?? [];
  const out: string[] = [];
  names.forEach((layer, i) => {
    const a = axonDendrite[i];
    const s = soma[i];
    if ((a && a !== "0") || (s && /s/i.test(s))) out.push(`${subregion}:${layer}`);
  });
  return out;
}

/** `Sub` (the files) and `SUB` (the query language) are one subregion. */
export function normalSubregion(code: string): string {
  const upper = code.trim().toUpperCase();
  return upper.startsWith("CA3") ? "CA3" : upper;
}

/**
 * The search answers formal names (`DG (e)2201p-CA3_00110-CA2_0010 Granule`); the catalog uses
 * the short form (`DG Granule`) when the type table has no row for the type.
 */
export function shortName(formal: string): string {
  const m = /^(\S+) \([ei]\)\S+ (.+)$/.exec(formal.trim());
  return m ? `${m[1]} ${m[2]!.trim()}` : formal.trim();
}

/** Subregion of a type: its type-table row, else the region word of its formal name, else its id. */
export function typeSubregion(id: string, row: Record<string, string> | undefined, formal?: string) {
  const fromName = formal ? /^(\S+) \(/.exec(formal.trim())?.[1] : undefined;
  return normalSubregion(row?.subregion || fromName || (HIPPOCAMPOME_SUBREGIONS[Number(id[0]) - 1] ?? ""));
}

export interface TypeMarkers {
  positive: string[];
  negative: string[];
}

/** What the published property tables say about one type; any part may be missing. */
export interface TypeProperties {
  markers?: TypeMarkers;
  morphology?: TypeMorphology;
  ephys?: TypeEphys;
}

export function mapHippocampomeType(
  id: string,
  row: Record<string, string> | undefined,
  searchName: string | undefined,
  siteUrl: string,
  properties: TypeProperties = {},
): CatalogContent {
  const { markers, morphology, ephys } = properties;
  const subregion = typeSubregion(id, row, searchName);
  const name = row?.short_name || (searchName ? shortName(searchName) : `Hippocampome type ${id}`);
  const supertype = row?.supertype ?? "";
  // "S010101:Glutamatergic GC:Granule:DG" → ["Glutamatergic GC", "Granule"]
  const supertypeNames = supertype.split(":").slice(1, -1);
  const ei = row?.excit_inhib;
  const transmitter = ei === "e" ? "glutamatergic" : ei === "i" ? "GABAergic" : undefined;
  const attributes: Record<string, string[]> = {
    neurotransmitter: uniq([transmitter]),
    abbreviation: uniq([row?.abbreviation]),
    supertype: uniq([supertype]),
    axonDendritePattern: uniq([row?.axon_dendrite_pattern]),
    somaPattern: uniq([row?.soma_pattern]),
    projectionPattern: uniq([row?.projection_pattern]),
    formalName: uniq([row?.full_name || searchName]),
    markersNegative: markers?.negative ?? [],
    ...propertyAttributes(morphology, ephys),
  };
  for (const key of Object.keys(attributes)) if (attributes[key]!.length === 0) delete attributes[key];
  return {
    id: `hippocampome:type:${id}`,
    source: "hippocampome",
    sourceId: `type:${id}`,
    kind: "neuron type",
    name,
    description: uniq([
      row?.full_name || searchName,
      supertype ? `Supertype ${supertype}` : undefined,
      row?.explanatory_notes,
    ]).join(". "),
    species: ["rat", "mouse"],
    brainRegions: uniq(["hippocampal formation", REGION_NAMES[subregion] ?? subregion]),
    cellTypes: uniq([name, ...supertypeNames]),
    // The morphology table's evidence per parcel; else the type table's pattern digits.
    layers: morphology
      ? uniq([...morphology.somaLayers, ...morphology.axonLayers, ...morphology.dendriteLayers])
      : typeLayers(subregion, row?.axon_dendrite_pattern ?? "", row?.soma_pattern ?? ""),
    markers: markers?.positive ?? [],
    files: [],
    links: [{ rel: "page", url: joinUrl(siteUrl, `php/neuron_page.php?id=${id}`) }],
    licence: null,
    citations: CITATIONS,
    attributes,
    sourceModified: null,
    sourceVersion: null,
  };
}

/** `DG:smi` (as conndata.csv sometimes writes it) → `DG:SMi`, the spelling of the layer table. */
function layerCode(value: string): string {
  const [region = "", layer = ""] = value.trim().split(":");
  const sub = normalSubregion(region);
  const known = HIPPOCAMPOME_LAYERS[sub]?.find((l) => l.toLowerCase() === layer.toLowerCase());
  return layer ? `${sub}:${known ?? layer}` : value.trim();
}

export function mapHippocampomeConnection(
  row: Record<string, string>,
  types: Map<string, CatalogContent>,
  siteUrl: string,
): CatalogContent {
  const pre = row.Source_ID!;
  const post = row.Target_ID!;
  // The v2 table names types formally (`DG (e)2201p-… Granule`); records use the short name.
  const preName = types.get(pre)?.name || shortName(row.Source_Name || pre);
  const postName = types.get(post)?.name || shortName(row.Target_Name || post);
  const layers = uniq((row.Layers ?? "").split(/[;|]/).map(layerCode));
  return {
    id: `hippocampome:conn:${pre}-${post}`,
    source: "hippocampome",
    sourceId: `conn:${pre}-${post}`,
    kind: "connection",
    name: `${preName} → ${postName}`,
    description: `Potential connection from ${preName} (${pre}) to ${postName} (${post})${
      layers.length ? ` in ${layers.join(", ")}` : ""
    }.`,
    species: ["rat", "mouse"],
    brainRegions: uniq([...(types.get(pre)?.brainRegions ?? []), ...(types.get(post)?.brainRegions ?? [])]),
    cellTypes: uniq([preName, postName]),
    layers,
    markers: [],
    files: [],
    links: [
      { rel: "related", label: "presynaptic", url: joinUrl(siteUrl, `php/neuron_page.php?id=${pre}`) },
      { rel: "related", label: "postsynaptic", url: joinUrl(siteUrl, `php/neuron_page.php?id=${post}`) },
    ],
    licence: null,
    citations: CITATIONS,
    attributes: { presynapticId: [pre], postsynapticId: [post] },
    sourceModified: null,
    sourceVersion: null,
  };
}

export function neuronQuery(subregions: string[]): string {
  const clauses = subregions
    .filter((s) => HIPPOCAMPOME_LAYERS[s])
    .map((s) => `Soma:${s}:${"?".repeat(HIPPOCAMPOME_LAYERS[s]!.length)}`);
  // The all-`?` patterns select every type whatever the subregions: filtering happens client-side.
  return `Neuron:(Morphology:(${clauses.join(" OR ")}))`;
}

/**
 * Positive and negative markers per type id from `markerdata.csv`: row 6 holds the marker
 * abbreviations, column 5 the type id (`1-000`); a cell's `{p}`/`{cp}` tag is positive, `{n}`/`{cn}`
 * negative. Weak, conflicting and inference-only evidence (digit and `i` tags) is left out.
 */
const GREEK: Record<string, string> = { alpha: "α", beta: "β", gamma: "γ", delta: "δ" };

export function parseMarkers(text: string): Map<string, TypeMarkers> {
  const rows = parseCsv(text);
  const out = new Map<string, TypeMarkers>();
  const header = rows.findIndex((r) => r[1]?.startsWith("Active (N)"));
  if (header < 1) return out;
  const names = rows[header - 1]!;
  const columns: [number, string][] = [];
  for (let c = 16; c < names.length; c++) {
    const name = names[c]!.trim().replace(/\\(alpha|beta|gamma|delta)\s*/g, (_, g: string) => GREEK[g]!);
    if (!name || /^\d+$/.test(name)) break;
    columns.push([c, name]);
  }
  for (const row of rows.slice(header + 1)) {
    const id = (row[5] ?? "").replace("-", "").trim();
    if (!/^\d{4}$/.test(id) || row[1]?.trim() !== "N") continue;
    const markers: TypeMarkers = { positive: [], negative: [] };
    for (const [c, name] of columns) {
      const tag = /^\{([a-z]+)\}/.exec((row[c] ?? "").trim())?.[1];
      if (tag === "p" || tag === "cp") markers.positive.push(name);
      else if (tag === "n" || tag === "cn") markers.negative.push(name);
    }
    out.set(id, { positive: uniq(markers.positive), negative: uniq(markers.negative) });
  }
  return out;
}

/**
 * The v2 table lists every pair whose parcels overlap; its `Connection?` flag says which are
 * connections. As the importer reads it (`csv2db/lib/map.py` conndata_to_conndata): 1, 4 and 5
 * positive, 0 and -1 negative, empty not assessed, anything else an ingest error. The pre-v2
 * table has no such column: every row of it is a connection.
 */
export function connectionStatus(row: Record<string, string>): "positive" | "negative" | "none" | "invalid" {
  if (!("Connection?" in row)) return "positive";
  const flag = row["Connection?"].trim();
  if (flag === "1" || flag === "4" || flag === "5") return "positive";
  if (flag === "0" || flag === "-1") return "negative";
  return flag === "" ? "none" : "invalid";
}

const cursorSchema = z.object({ phase: z.literal("connections"), typeIds: z.array(z.string()) });

export function hippocampomeHarvester(options: HippocampomeOptions): SourceHarvester {
  const subregions = new Set(
    (options.filters?.brainRegions ?? [...HIPPOCAMPOME_SUBREGIONS]).map(normalSubregion),
  );
  const searchUrls = options.searchUrl
    ? [options.searchUrl]
    : [
        joinUrl(options.baseUrl, "php/search_engine_json.php"),
        joinUrl(options.baseUrl, "csv2db/search_engine_json.php"),
      ];
  const typesUrl = options.typesCsvUrl ?? HIPPOCAMPOME_DEFAULT_TYPES_CSV_URL;
  const markersUrl = options.markersCsvUrl ?? HIPPOCAMPOME_DEFAULT_MARKERS_CSV_URL;
  const connUrl = options.connectionsCsvUrl ?? HIPPOCAMPOME_DEFAULT_CONNECTIONS_CSV_URL;
  const morphologyUrl = options.morphologyCsvUrl ?? HIPPOCAMPOME_DEFAULT_MORPHOLOGY_CSV_URL;
  const ephysUrl = options.ephysCsvUrl ?? HIPPOCAMPOME_DEFAULT_EPHYS_CSV_URL;
  const query = encodeURIComponent(neuronQuery([...HIPPOCAMPOME_SUBREGIONS]));

  async function search(ctx: StepContext) {
    for (const [i, base] of searchUrls.entries()) {
      try {
        const url = `${base}?query_str=${query}`;
        const cap = ctx.http.policyFor(new URL(url).host).maxBodyBytes;
        return await ctx.http.get(
          url,
          async (res) => parseSearchResponse(new TextDecoder().decode(await readCapped(res, cap, url))),
          ctx.signal,
        );
      } catch (err) {
        if (!isNotFound(err) || i === searchUrls.length - 1) throw err;
      }
    }
    return [];
  }

  /** A detail file that cannot be read degrades the records but does not stop the run. */
  async function optionalCsv(ctx: StepContext, url: string, warnings: StepProblem[]) {
    try {
      return await ctx.http.getText(url, ctx.signal, options.publishedCsvEncoding ?? "latin1");
    } catch (err) {
      if (ctx.signal?.aborted) throw err;
      warnings.push({ message: `Hippocampome details unavailable: ${(err as Error).message}`, url });
      return "";
    }
  }

  async function types(ctx: StepContext, warnings: StepProblem[]) {
    const hits = await search(ctx);
    const rows = new Map(csvObjects(await optionalCsv(ctx, typesUrl, warnings)).map((r) => [r.id ?? "", r]));
    const markers = parseMarkers(await optionalCsv(ctx, markersUrl, warnings));
    const morphology = parseMorphology(await optionalCsv(ctx, morphologyUrl, warnings));
    const ephys = parseEphys(await optionalCsv(ctx, ephysUrl, warnings));
    const records = new Map<string, CatalogContent>();
    // The search lists only types with an outgoing connection (review §2); the type table adds
    // the other active types.
    const listed = [
      ...hits,
      ...[...rows.values()]
        .filter((r) => r.status === "active" && /^\d{4}$/.test(r.id ?? ""))
        .map((r) => ({ id: r.id!, name: undefined })),
    ];
    for (const hit of listed) {
      const row = rows.get(hit.id);
      if (records.has(hit.id) || (row?.status && row.status !== "active")) continue;
      if (!subregions.has(typeSubregion(hit.id, row, hit.name))) continue;
      records.set(
        hit.id,
        mapHippocampomeType(hit.id, row, hit.name, options.baseUrl, {
          markers: markers.get(hit.id),
          morphology: morphology.get(hit.id),
          ephys: ephys.get(hit.id),
        }),
      );
    }
    return records;
  }

  return {
    source: "hippocampome",
    incremental: false,
    async step(ctx, rawCursor) {
      const warnings: StepProblem[] = [];
      if (!rawCursor) {
        const records = await types(ctx, warnings);
        return {
          records: [...records.values()],
          warnings,
          next: { phase: "connections", typeIds: [...records.keys()] },
        };
      }
      const cursor = cursorSchema.parse(rawCursor);
      const keep = new Set(cursor.typeIds);
      // Type names and regions for connection records; rereading the small tables is cheaper
      // than carrying every type record in the checkpoint.
      const typeRecords = await types(ctx, []);
      const unreadable: { reason: string; url: string }[] = [];
      const records = new Map<string, CatalogContent>();
      const table = await ctx.http.getText(connUrl, ctx.signal, options.publishedCsvEncoding ?? "latin1");
      for (const row of csvObjects(table)) {
        if (!/^\d+$/.test(row.Source_ID ?? "") || !/^\d+$/.test(row.Target_ID ?? "")) {
          unreadable.push({ reason: `Connection row without ids: ${JSON.stringify(row)}`, url: connUrl });
          continue;
        }
        if (!keep.has(row.Source_ID!) || !keep.has(row.Target_ID!)) continue;
        const status = connectionStatus(row);
        if (status === "invalid") {
          unreadable.push({
            reason: `Connection ${row.Source_ID}-${row.Target_ID}: Connection? is "${row["Connection?"]}"`,
            url: connUrl,
          });
          continue;
        }
        if (status !== "positive") continue;
        const record = mapHippocampomeConnection(row, typeRecords, options.baseUrl);
        // A pair listed more than once becomes one record with all its layers.
        const earlier = records.get(record.id);
        if (earlier) earlier.layers = uniq([...earlier.layers, ...record.layers]);
        else records.set(record.id, record);
      }
      return { records: [...records.values()], unreadable, next: null };
    },
  };
}
