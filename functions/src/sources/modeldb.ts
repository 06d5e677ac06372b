/**
 * ModelDB (modeldb.science): computational models, through the read-only JSON API `/api/v1`.
 *
 * Listing (harvest review §3): `/models`, `/models/ver_date`, `/models/region` and
 * `/models/neurons` list every public model's id and field in one order, so four unfiltered
 * requests, made back to back and zipped, give each model's version date, regions and cell types.
 * Selection happens here: a model is kept when a region OR one of its cell types names a configured
 * region (the server's `?region=` filter is exact and case-sensitive and drops the many
 * hippocampal models that carry no region). `/models` is read again last; a different answer
 * means the order moved under us and the listing is retried. Only models whose `ver_date` differs
 * from the catalog's are fetched in detail. `license` is a plain string on models made public since
 * 2020 (`BSD3`, `MIT`, …) and `{value}` before; both are kept and mapped to SPDX.
 */
import { z } from "zod";

import type { CatalogCitation, CatalogContent } from "../schemas/catalog.js";
import { isNotFound } from "./http.js";
import {
  joinUrl,
  plainText,
  uniq,
  type SourceHarvester,
  type SourceOptions,
  type UnreadableRecord,
} from "./types.js";

export const MODELDB_DEFAULT_REGIONS = ["Hippocampus", "Dentate gyrus", "Entorhinal cortex", "Subiculum"];

/** ModelDB is small and has no documented limit: a pool of 2. */
export const MODELDB_HOST_POLICY = { concurrency: 2, minIntervalMs: 200 };

const DETAIL_BATCH = 10;

const named = z.object({ object_id: z.number().optional(), object_name: z.string() });
const multi = z.object({ value: z.array(named) }).optional();
const scalar = z.object({ value: z.unknown() }).optional();
/** `"BSD3"` on models made public since 2020, `{value}` on older ones. */
const licenceField = z.union([z.string(), z.object({ value: z.unknown() })]).nullish();

const modelSchema = z.looseObject({
  id: z.number(),
  name: z.string().min(1),
  ver_number: z.number().nullish(),
  ver_date: z.string().nullish(),
  notes: scalar,
  neurons: multi,
  currents: multi,
  receptors: multi,
  neurotransmitters: multi,
  region: multi,
  model_type: multi,
  model_concept: multi,
  modeling_application: multi,
  model_paper: multi,
  implemented_by: multi,
  gene: multi,
  citation: scalar,
  species: multi,
  license: licenceField,
  _citation_text: z.string().nullish(),
  _implementers_text: z.string().nullish(),
});
export type ModelDbModel = z.infer<typeof modelSchema>;

/** The submission form's licence choices (templates/submitmodel.html) as SPDX identifiers. */
const SPDX: Record<string, string | null> = {
  BSD3: "BSD-3-Clause",
  BSD2: "BSD-2-Clause",
  MIT: "MIT",
  GPL: "GPL",
  other: null,
};

export function modelDbLicence(field: ModelDbModel["license"]): string | null {
  const raw = typeof field === "string" ? field : typeof field?.value === "string" ? field.value : "";
  const value = raw.trim();
  if (!value) return null;
  return value in SPDX ? SPDX[value]! : value;
}

const listField = z.array(z.object({ value: z.array(named) }).nullable());

const cursorSchema = z.object({
  /** [id, ver_date] pairs still to visit, zipped at listing time. */
  pending: z.array(z.tuple([z.number(), z.string().nullable()])),
  offset: z.number().int().nonnegative(),
});

const names = (field: { value: { object_name: string }[] } | undefined) =>
  uniq((field?.value ?? []).map((v) => v.object_name));

/** "Lytton, William [bill.lytton at downstate.edu]" → "Lytton, William": no addresses in the catalog. */
const withoutEmail = (name: string) => name.replace(/\s*\[[^\]]*\]\s*/g, " ").trim();

const REGION_WORDS: [RegExp, string][] = [
  [/hippocamp/i, "hippocampus"],
  [/\bCA1\b/, "CA1"],
  [/\bCA2\b/, "CA2"],
  [/\bCA3\b/, "CA3"],
  [/dentate/i, "dentate gyrus"],
  [/entorhinal/i, "entorhinal cortex"],
  [/subicul/i, "subiculum"],
];

export function mapModelDbModel(model: ModelDbModel, siteUrl: string): CatalogContent {
  const id = String(model.id);
  const cellTypes = names(model.neurons);
  const regionsFromCells = REGION_WORDS.filter(([re]) => cellTypes.some((c) => re.test(c))).map(([, r]) => r);
  const licence = modelDbLicence(model.license);
  const citationValue = typeof model.citation?.value === "string" ? model.citation.value.trim() : "";
  const citations: CatalogCitation[] = [
    ...names(model.model_paper).map((text) => ({ text })),
    // A bare PMID (87762, 114452) is a PubMed reference, not a citation text.
    ...(/^\d+$/.test(citationValue)
      ? [
          {
            text: `PMID:${citationValue}`,
            pmid: citationValue,
            url: `https://pubmed.ncbi.nlm.nih.gov/${citationValue}/`,
          },
        ]
      : citationValue
        ? [{ text: citationValue }]
        : []),
    ...(model._citation_text?.trim() ? [{ text: model._citation_text.trim() }] : []),
    {
      text: "McDougal RA et al. (2017) Twenty years of ModelDB and beyond. J Comput Neurosci 42(1):1-10",
      doi: "10.1007/s10827-016-0623-7",
    },
  ];
  const attributes: Record<string, string[]> = {
    channels: names(model.currents),
    receptors: names(model.receptors),
    transmitters: names(model.neurotransmitters),
    modelTypes: names(model.model_type),
    modelConcepts: names(model.model_concept),
    simulators: names(model.modeling_application),
    implementers: uniq([
      ...names(model.implemented_by).map(withoutEmail),
      ...(names(model.implemented_by).length ? [] : [withoutEmail(model._implementers_text ?? "")]),
    ]),
    licenceAsStated: uniq([typeof model.license === "string" ? model.license : undefined]),
    genes: names(model.gene),
  };
  for (const key of Object.keys(attributes)) if (attributes[key]!.length === 0) delete attributes[key];
  return {
    id: `modeldb:${id}`,
    source: "modeldb",
    sourceId: id,
    kind: "model",
    name: model.name.trim(),
    description: plainText(model.notes?.value),
    species: names(model.species),
    // ModelDB's "Hippocampus" and the cell-derived "hippocampus" are one region.
    brainRegions: uniq([...names(model.region), ...regionsFromCells]).filter(
      (r, i, all) => all.findIndex((x) => x.toLowerCase() === r.toLowerCase()) === i,
    ),
    cellTypes,
    layers: [],
    markers: [],
    files: [
      { url: joinUrl(siteUrl, `download/${id}`), format: "zip", name: `${id}.zip`, role: "model archive" },
    ],
    links: [
      { rel: "page", url: joinUrl(siteUrl, `${id}?tab=1`) },
      { rel: "api", url: joinUrl(siteUrl, `api/v1/models/${id}`) },
    ],
    licence,
    citations,
    attributes,
    sourceModified: model.ver_date ?? null,
    sourceVersion:
      model.ver_number === null || model.ver_number === undefined ? null : String(model.ver_number),
  };
}

/** Whether a model's regions or cell types name one of the configured regions. */
export function modelDbSelector(regions: string[]): (regionNames: string[], cellNames: string[]) => boolean {
  const wanted = regions.map((r) => r.toLowerCase());
  const words = REGION_WORDS.filter(([, name]) => wanted.some((w) => w.includes(name.toLowerCase())));
  // CA fields belong to the hippocampus: selecting it selects models of CA1/CA3 cells too.
  const hippocampus = wanted.includes("hippocampus");
  return (regionNames, cellNames) =>
    regionNames.some((r) => wanted.includes(r.trim().toLowerCase())) ||
    cellNames.some(
      (c) =>
        wanted.some((w) => c.toLowerCase().includes(w)) ||
        words.some(([re]) => re.test(c)) ||
        (hippocampus && /\bCA[1-3]\b/.test(c)),
    );
}

export function modelDbHarvester(options: SourceOptions): SourceHarvester {
  const regions = options.filters?.brainRegions ?? MODELDB_DEFAULT_REGIONS;
  const selected = modelDbSelector(regions);
  const api = (path: string) => joinUrl(options.baseUrl, `api/v1/${path}`);
  const batch = Math.max(1, Math.min(options.pageSize ?? DETAIL_BATCH, 50));

  return {
    source: "modeldb",
    incremental: true,
    async step(ctx, rawCursor) {
      if (!rawCursor) {
        // The lists share an order only while no model is published or the server restarts:
        // fetch them back to back, then the id list again to confirm nothing moved.
        const get = (path: string) => ctx.http.getJson(api(path), ctx.signal);
        const ids = z.array(z.number()).parse(await get("models"));
        const dates = z.array(z.string().nullable()).parse(await get("models/ver_date"));
        const regionLists = listField.parse(await get("models/region"));
        const cellLists = listField.parse(await get("models/neurons"));
        const again = z.array(z.number()).parse(await get("models"));
        const lengths = [dates.length, regionLists.length, cellLists.length, again.length];
        if (lengths.some((n) => n !== ids.length) || again.some((id, i) => id !== ids[i])) {
          throw new Error("ModelDB's model lists changed while being read; listing again");
        }
        const pending: [number, string | null][] = [];
        ids.forEach((id, i) => {
          const regionNames = (regionLists[i]?.value ?? []).map((v) => v.object_name);
          const cellNames = (cellLists[i]?.value ?? []).map((v) => v.object_name);
          if (selected(regionNames, cellNames)) pending.push([id, dates[i] ?? null]);
        });
        pending.sort((a, b) => a[0] - b[0]);
        return {
          records: [],
          total: pending.length,
          next: pending.length ? { pending, offset: 0 } : null,
        };
      }
      const cursor = cursorSchema.parse(rawCursor);
      const slice = cursor.pending.slice(cursor.offset, cursor.offset + batch);
      const known = await ctx.known(slice.map(([id]) => `modeldb:${id}`));
      const records: CatalogContent[] = [];
      const seen: string[] = [];
      const unreadable: UnreadableRecord[] = [];
      await Promise.all(
        slice.map(async ([id, verDate]) => {
          const have = known.get(`modeldb:${id}`);
          if (have && !have.withdrawn && verDate !== null && have.sourceModified === verDate) {
            seen.push(`modeldb:${id}`);
            return;
          }
          const url = api(`models/${id}`);
          try {
            const parsed = modelSchema.safeParse(await ctx.http.getJson(url, ctx.signal));
            if (parsed.success) records.push(mapModelDbModel(parsed.data, options.baseUrl));
            else {
              const reason = `Unreadable model ${id}: ${z.prettifyError(parsed.error)}`;
              unreadable.push({ id: `modeldb:${id}`, reason, url });
            }
          } catch (err) {
            if (!isNotFound(err)) throw err;
            // Listed a moment ago, gone now: not seen, so a complete run withdraws it.
            unreadable.push({ reason: `Model ${id} was listed but answers 404`, url });
          }
        }),
      );
      const offset = cursor.offset + slice.length;
      return {
        records,
        seen,
        unreadable,
        total: cursor.pending.length,
        next: offset < cursor.pending.length ? { pending: cursor.pending, offset } : null,
      };
    },
  };
}
