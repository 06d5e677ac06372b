/**
 * ModelDB (modeldb.science): computational models, through the read-only JSON API `/api/v1`.
 *
 * Incremental by version date: `/models?region=R` and `/models/ver_date?region=R` list ids and
 * version dates in the same order, so we fetch them back to back and zip them; only models whose
 * `ver_date` differs from the catalog's `sourceModified` are fetched in detail. The listing is
 * always complete, so a model missing from it is gone (mark-and-sweep still applies).
 * Region selection replaces the reference's "hippocampus" substring rule, which missed dentate
 * gyrus and entorhinal models. No HTML is scraped: page, zip and API URLs are constructed.
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
  type StepProblem,
} from "./types.js";

export const MODELDB_DEFAULT_REGIONS = ["Hippocampus", "Dentate gyrus", "Entorhinal cortex", "Subiculum"];

/** ModelDB is small and has no documented limit: a pool of 2. */
export const MODELDB_HOST_POLICY = { concurrency: 2, minIntervalMs: 200 };

const DETAIL_BATCH = 10;

const named = z.object({ object_id: z.number().optional(), object_name: z.string() });
const multi = z.object({ value: z.array(named) }).optional();
const scalar = z.object({ value: z.unknown() }).optional();

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
  license: scalar,
});
export type ModelDbModel = z.infer<typeof modelSchema>;

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
  const licence =
    typeof model.license?.value === "string" && model.license.value ? model.license.value : null;
  const citations: CatalogCitation[] = [
    ...names(model.model_paper).map((text) => ({ text })),
    ...(typeof model.citation?.value === "string" && model.citation.value
      ? [{ text: model.citation.value }]
      : []),
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
    implementers: uniq(names(model.implemented_by).map(withoutEmail)),
    genes: names(model.gene),
  };
  for (const key of Object.keys(attributes)) if (attributes[key]!.length === 0) delete attributes[key];
  return {
    id: `modeldb:${id}`,
    source: "modeldb",
    sourceId: id,
    kind: "model",
    name: model.name,
    description: plainText(model.notes?.value),
    species: [],
    brainRegions: uniq([...names(model.region), ...regionsFromCells]),
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

export function modelDbHarvester(options: SourceOptions): SourceHarvester {
  const regions = options.filters?.brainRegions ?? MODELDB_DEFAULT_REGIONS;
  const api = (path: string) => joinUrl(options.baseUrl, `api/v1/${path}`);
  const batch = Math.max(1, Math.min(options.pageSize ?? DETAIL_BATCH, 50));

  return {
    source: "modeldb",
    incremental: true,
    async step(ctx, rawCursor) {
      if (!rawCursor) {
        // The two lists share an order only within a short window: fetch them back to back.
        const pending = new Map<number, string | null>();
        for (const region of regions) {
          const q = `?region=${encodeURIComponent(region)}`;
          const ids = z.array(z.number()).parse(await ctx.http.getJson(api(`models${q}`), ctx.signal));
          const dates = z
            .array(z.string().nullable())
            .parse(await ctx.http.getJson(api(`models/ver_date${q}`), ctx.signal));
          if (dates.length !== ids.length) throw new Error(`ModelDB lists for ${region} differ in length`);
          ids.forEach((id, i) => pending.set(id, dates[i] ?? null));
        }
        const sorted = [...pending.entries()].sort((a, b) => a[0] - b[0]);
        return {
          records: [],
          total: sorted.length,
          next: sorted.length ? { pending: sorted, offset: 0 } : null,
        };
      }
      const cursor = cursorSchema.parse(rawCursor);
      const slice = cursor.pending.slice(cursor.offset, cursor.offset + batch);
      const known = await ctx.known(slice.map(([id]) => `modeldb:${id}`));
      const records: CatalogContent[] = [];
      const seen: string[] = [];
      const problems: StepProblem[] = [];
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
            else problems.push({ message: `Unreadable model ${id}: ${parsed.error.message}`, url });
          } catch (err) {
            // Listed a moment ago, gone now: it is not seen, so a complete run withdraws it.
            if (!isNotFound(err)) throw err;
          }
        }),
      );
      const offset = cursor.offset + slice.length;
      return {
        records,
        seen,
        problems,
        total: cursor.pending.length,
        next: offset < cursor.pending.length ? { pending: cursor.pending, offset } : null,
      };
    },
  };
}
