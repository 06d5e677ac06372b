/**
 * Hippocampome.org: neuron types and their potential connections in the rodent hippocampal formation.
 *
 * The site's only machine-readable query endpoint, `search_engine_json.php`, selects the type ids
 * in the configured subregions; it answers plain JSON on the main branch and JSON encoded twice on
 * the 2025 branch, an empty list for no match and `{"error"}` on bad queries — all are handled.
 * Type details and connections come from the published CSVs (`type.csv`, `conndata.csv`: BOM,
 * trailing spaces, sometimes Latin-1). Neuron pages are never scraped.
 */
import { z } from "zod";

import type { CatalogCitation, CatalogContent } from "../schemas/catalog.js";
import { UpstreamError } from "./http.js";
import { joinUrl, uniq, type SourceHarvester, type SourceOptions, type StepProblem } from "./types.js";

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

export interface HippocampomeOptions extends SourceOptions {
  searchUrl?: string;
  typesCsvUrl?: string;
  /** The GitHub copies of the CSVs are Latin-1. */
  typesCsvEncoding?: "utf-8" | "latin1";
  connectionsCsvUrl?: string;
}

const CITATIONS: CatalogCitation[] = [
  { text: "Wheeler DW et al. (2015) Hippocampome.org. eLife 4:e09960", doi: "10.7554/eLife.09960" },
  { text: "Wheeler DW et al. (2024) Hippocampome.org 2.0. eLife 12:RP90597", doi: "10.7554/eLife.90597" },
];

/** RFC 4180 CSV: quoted fields, doubled quotes, CRLF. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      if (row.some((f) => f.length > 0)) rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  row.push(field);
  if (row.some((f) => f.length > 0)) rows.push(row);
  return rows;
}

/** Rows as objects keyed by trimmed header names, values trimmed (the CSVs carry trailing spaces). */
export function csvObjects(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text.replace(/^\uFEFF/, ""));
  if (!header) return [];
  const keys = header.map((h) => h.trim());
  return rows.map((r) => Object.fromEntries(keys.map((k, i) => [k, (r[i] ?? "").trim()])));
}

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

export function mapHippocampomeType(
  id: string,
  row: Record<string, string> | undefined,
  searchName: string | undefined,
  siteUrl: string,
): CatalogContent {
  const subregion = row?.subregion || (HIPPOCAMPOME_SUBREGIONS[Number(id[0]) - 1] ?? "");
  const name = row?.short_name || searchName || `Hippocampome type ${id}`;
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
  };
  for (const key of Object.keys(attributes)) if (attributes[key]!.length === 0) delete attributes[key];
  return {
    id: `hippocampome:type:${id}`,
    source: "hippocampome",
    sourceId: `type:${id}`,
    kind: "neuron type",
    name,
    description: uniq([row?.full_name, supertype ? `Supertype ${supertype}` : undefined]).join(". "),
    species: ["rat", "mouse"],
    brainRegions: uniq(["hippocampal formation", REGION_NAMES[subregion] ?? subregion]),
    cellTypes: uniq([name, ...supertypeNames]),
    layers: typeLayers(subregion, row?.axon_dendrite_pattern ?? "", row?.soma_pattern ?? ""),
    markers: [],
    files: [],
    links: [{ rel: "page", url: joinUrl(siteUrl, `php/neuron_page.php?id=${id}`) }],
    licence: null,
    citations: CITATIONS,
    attributes,
    sourceModified: null,
    sourceVersion: null,
  };
}

export function mapHippocampomeConnection(
  row: Record<string, string>,
  types: Map<string, CatalogContent>,
  siteUrl: string,
): CatalogContent {
  const pre = row.Source_ID!;
  const post = row.Target_ID!;
  const preName = row.Source_Name || types.get(pre)?.name || pre;
  const postName = row.Target_Name || types.get(post)?.name || post;
  const layers = uniq((row.Layers ?? "").split(/[;|]/));
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
  return `Neuron:(Morphology:(${clauses.join(" OR ")}))`;
}

const cursorSchema = z.object({ phase: z.literal("connections"), typeIds: z.array(z.string()) });

export function hippocampomeHarvester(options: HippocampomeOptions): SourceHarvester {
  const subregions = options.filters?.brainRegions ?? [...HIPPOCAMPOME_SUBREGIONS];
  const searchUrl = options.searchUrl ?? joinUrl(options.baseUrl, "csv2db/search_engine_json.php");
  const typesUrl = options.typesCsvUrl ?? joinUrl(options.baseUrl, "php/data/type.csv");
  const connUrl = options.connectionsCsvUrl ?? joinUrl(options.baseUrl, "php/data/conndata.csv");

  async function types(ctx: Parameters<SourceHarvester["step"]>[0]) {
    const url = `${searchUrl}?query_str=${encodeURIComponent(neuronQuery(subregions))}`;
    const hits = await ctx.http.get(url, async (res) => parseSearchResponse(await res.text()), ctx.signal);
    const csv = await ctx.http.getText(typesUrl, ctx.signal, options.typesCsvEncoding ?? "utf-8");
    const rows = new Map(csvObjects(csv).map((r) => [r.id ?? "", r]));
    const records = new Map<string, CatalogContent>();
    for (const hit of hits) {
      const row = rows.get(hit.id);
      if (row?.status && row.status !== "active") continue;
      records.set(hit.id, mapHippocampomeType(hit.id, row, hit.name, options.baseUrl));
    }
    return records;
  }

  return {
    source: "hippocampome",
    incremental: false,
    async step(ctx, rawCursor) {
      if (!rawCursor) {
        const records = await types(ctx);
        return {
          records: [...records.values()],
          next: { phase: "connections", typeIds: [...records.keys()] },
        };
      }
      const cursor = cursorSchema.parse(rawCursor);
      const keep = new Set(cursor.typeIds);
      // Type names and regions for connection records; rereading the small type table is cheaper
      // than carrying every type record in the checkpoint.
      const typeRecords = await types(ctx);
      const problems: StepProblem[] = [];
      const records = new Map<string, CatalogContent>();
      for (const row of csvObjects(await ctx.http.getText(connUrl, ctx.signal))) {
        if (!row.Source_ID || !row.Target_ID) {
          problems.push({ message: `Connection row without ids: ${JSON.stringify(row)}`, url: connUrl });
          continue;
        }
        if (!keep.has(row.Source_ID) || !keep.has(row.Target_ID)) continue;
        const record = mapHippocampomeConnection(row, typeRecords, options.baseUrl);
        // A pair listed once per layer becomes one record with all its layers.
        const earlier = records.get(record.id);
        if (earlier) earlier.layers = uniq([...earlier.layers, ...record.layers]);
        else records.set(record.id, record);
      }
      return { records: [...records.values()], problems, next: null };
    },
  };
}
