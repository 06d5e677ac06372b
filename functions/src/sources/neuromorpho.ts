/**
 * NeuroMorpho.Org: digital neuron reconstructions.
 *
 * Only `/api/neuron/select` is called (GET, paged). `sort` is documented for `/neuron` only, so
 * none is sent; the write path de-duplicates by id. A select that matches nothing is an HTTP 404
 * (recorded), i.e. an empty listing, not a failure. File URLs are derived from `archive` + `neuron_name`, the method NeuroMorpho's
 * terms sanction; the `.jsp` pages are linked for humans but never fetched, and no file is
 * downloaded to test that it exists. The host's weak TLS key is handled by the client's per-host
 * `tlsFallback` policy, which `NEUROMORPHO_HOST_POLICY` turns on for this source only; a broken
 * certificate chain by the `extraCa` policy (NEUROMORPHO_EXTRA_CA_PEM), verification kept.
 */
import { z } from "zod";

import type { CatalogCitation, CatalogContent, CatalogFile, CatalogLink } from "../schemas/catalog.js";
import { abortableSleep, isNotFound, type HostPolicy } from "./http.js";
import {
  joinUrl,
  plainText,
  uniq,
  type SourceHarvester,
  type SourceOptions,
  type StepProblem,
  type UnreadableRecord,
} from "./types.js";

export const NEUROMORPHO_DEFAULT_REGIONS = ["hippocampus"];

/** One request at a time, a second apart; TLS fallback allowed (see http.ts). */
export const NEUROMORPHO_HOST_POLICY: Partial<HostPolicy> = {
  concurrency: 1,
  minIntervalMs: 1000,
  tlsFallback: true,
};

const MAX_PAGE_SIZE = 500;
/** How often an empty page inside the announced range is re-read before it is skipped. */
const EMPTY_PAGE_REREADS = 3;

const str = z.string().nullish();
const strList = z.union([z.array(z.string()), z.string()]).nullish();

const neuronSchema = z.looseObject({
  neuron_id: z.union([z.number(), z.string()]),
  neuron_name: z.string().min(1),
  archive: z.string().min(1),
  note: str,
  species: str,
  strain: str,
  brain_region: strList,
  cell_type: strList,
  protocol: str,
  stain: str,
  domain: str,
  attributes: str,
  physical_Integrity: str,
  original_format: str,
  reconstruction_software: str,
  experiment_condition: strList,
  age_classification: str,
  gender: str,
  upload_date: str,
  png_url: str,
  reference_pmid: strList,
  reference_doi: strList,
  _links: z.looseObject({ self: z.object({ href: z.string() }).optional() }).optional(),
});
export type NeuroMorphoNeuron = z.infer<typeof neuronSchema>;

const pageSchema = z.looseObject({
  _embedded: z.looseObject({ neuronResources: z.array(z.unknown()) }).optional(),
  page: z
    .object({ size: z.number(), totalElements: z.number(), totalPages: z.number(), number: z.number() })
    .optional(),
});

const cursorSchema = z.object({ page: z.number().int().nonnegative(), totalPages: z.number().nullable() });
type Cursor = z.infer<typeof cursorSchema>;

const list = (v: string[] | string | null | undefined): string[] => (Array.isArray(v) ? v : v ? [v] : []);

/**
 * `Neurozoom.swc` → `swc`, `Neurolucida.DAT` → `DAT` (the server's paths are case-sensitive, so
 * the case is kept); only `Custom.xml` originals are stored as `.morph.xml` (swcgeom's rule).
 */
export function originalExtension(originalFormat: string | null | undefined): string | undefined {
  const dot = originalFormat?.indexOf(".") ?? -1;
  if (!originalFormat || dot < 0) return undefined;
  if (originalFormat.trim().toLowerCase() === "custom.xml") return "morph.xml";
  const ext = originalFormat.slice(dot + 1).trim();
  return /^[A-Za-z0-9.]+$/.test(ext) ? ext : undefined;
}

/** NeuroMorpho's own links are `http://`; the same paths are served over HTTPS. */
export function httpsUrl(url: string): string {
  return url.replace(/^http:\/\/(www\.)?neuromorpho\.org\//i, "https://neuromorpho.org/");
}

export function neuroMorphoFileUrls(siteUrl: string, archive: string, name: string) {
  const base = joinUrl(siteUrl, `dableFiles/${encodeURIComponent(archive.toLowerCase())}`);
  const file = encodeURIComponent(name);
  return {
    standardized: `${base}/CNG%20version/${file}.CNG.swc`,
    original: (ext: string) => `${base}/Source-Version/${file}.${ext}`,
  };
}

export function mapNeuroMorphoNeuron(neuron: NeuroMorphoNeuron, siteUrl: string): CatalogContent {
  const sourceId = String(neuron.neuron_id);
  const urls = neuroMorphoFileUrls(siteUrl, neuron.archive, neuron.neuron_name);
  const files: CatalogFile[] = [
    { url: urls.standardized, format: "swc", name: `${neuron.neuron_name}.CNG.swc`, role: "standardized" },
  ];
  const ext = originalExtension(neuron.original_format);
  if (ext) {
    files.push({
      url: urls.original(ext),
      format: ext.toLowerCase(),
      name: `${neuron.neuron_name}.${ext}`,
      role: "original",
    });
  }
  const links: CatalogLink[] = [
    {
      rel: "page",
      url: joinUrl(siteUrl, `neuron_info.jsp?neuron_name=${encodeURIComponent(neuron.neuron_name)}`),
    },
  ];
  const self = neuron._links?.self?.href;
  if (self && URL.canParse(self)) links.push({ rel: "api", url: httpsUrl(self) });
  if (neuron.png_url && URL.canParse(neuron.png_url)) {
    links.push({ rel: "thumbnail", url: httpsUrl(neuron.png_url) });
  }

  const citations: CatalogCitation[] = [
    ...list(neuron.reference_pmid).map((pmid) => ({
      text: `PMID:${pmid}`,
      pmid,
      url: `https://pubmed.ncbi.nlm.nih.gov/${pmid}/`,
    })),
    ...list(neuron.reference_doi).map((doi) => ({ text: `doi:${doi}`, doi, url: `https://doi.org/${doi}` })),
    { text: "NeuroMorpho.Org (RRID:SCR_002145)" },
    {
      text: "Tecuatl C, Ljungquist B, Ascoli GA (2024) FASEB BioAdvances 6(7):207-221",
      doi: "10.1096/fba.2024-00048",
    },
  ];
  const regions = list(neuron.brain_region);
  const attributes: Record<string, string[]> = {
    archive: [neuron.archive],
    strain: uniq([neuron.strain]),
    protocol: uniq([neuron.protocol]),
    stain: uniq([neuron.stain]),
    structuralDomains: uniq((neuron.domain ?? "").split(",")),
    morphologyAttributes: uniq((neuron.attributes ?? "").split(",")),
    physicalIntegrity: uniq([neuron.physical_Integrity]),
    experimentCondition: uniq(list(neuron.experiment_condition)),
    reconstructionSoftware: uniq([neuron.reconstruction_software]),
    age: uniq([neuron.age_classification]),
  };
  for (const key of Object.keys(attributes)) if (attributes[key]!.length === 0) delete attributes[key];
  return {
    id: `neuromorpho:${sourceId}`,
    source: "neuromorpho",
    sourceId,
    kind: "morphology",
    name: neuron.neuron_name,
    description: plainText(neuron.note),
    species: uniq([neuron.species]),
    brainRegions: uniq(regions),
    cellTypes: uniq(list(neuron.cell_type)),
    layers: uniq(regions.filter((r) => /layer|stratum|^(so|sp|sr|slm|sl|sg|sm|h)$/i.test(r))),
    markers: [],
    files,
    links,
    licence: "CC-BY-4.0",
    citations,
    attributes,
    sourceModified: neuron.upload_date ?? null,
    sourceVersion: null,
  };
}

/**
 * A select value: a multi-word one is quoted (`"basal ganglia"`), as clients that query it do
 * (review §1); commas and quotes cannot appear inside one and are dropped.
 */
export function selectValue(value: string): string {
  const v = value.replace(/[",]/g, "").trim();
  return /\s/.test(v) ? `"${v}"` : v;
}

export function neuroMorphoHarvester(options: SourceOptions): SourceHarvester {
  const regions = options.filters?.brainRegions ?? NEUROMORPHO_DEFAULT_REGIONS;
  const size = Math.min(options.pageSize ?? 100, MAX_PAGE_SIZE);
  const pageUrl = (page: number) =>
    joinUrl(options.baseUrl, "api/neuron/select") +
    `?q=${encodeURIComponent(`brain_region:${regions.map(selectValue).join(",")}`)}&page=${page}&size=${size}`;

  return {
    source: "neuromorpho",
    incremental: false,
    async step(ctx, rawCursor) {
      const cursor: Cursor = rawCursor ? cursorSchema.parse(rawCursor) : { page: 0, totalPages: null };
      const url = pageUrl(cursor.page);
      const problems: StepProblem[] = [];
      const unreadable: UnreadableRecord[] = [];
      let body: z.infer<typeof pageSchema>;
      try {
        body = pageSchema.parse(await ctx.http.getJson(url, ctx.signal));
      } catch (err) {
        // "Requested neuron not found" on the first page: the selection is empty.
        if (cursor.page === 0 && isNotFound(err)) return { records: [], total: 0, next: null };
        throw err;
      }
      // An empty page inside the announced range is a server hiccup, not the end of the data.
      for (let reread = 1; !body._embedded && reread <= EMPTY_PAGE_REREADS; reread++) {
        const totalPages = body.page?.totalPages ?? cursor.totalPages ?? 0;
        if (cursor.page >= totalPages) break;
        await abortableSleep(ctx.http.policyFor(new URL(url).host).backoffBaseMs * reread, ctx.signal);
        body = pageSchema.parse(await ctx.http.getJson(url, ctx.signal));
      }
      const totalPages = body.page?.totalPages ?? cursor.totalPages ?? 0;
      const raw = body._embedded?.neuronResources ?? [];
      if (raw.length === 0 && cursor.page < totalPages) {
        problems.push({
          message: `Page ${cursor.page} was empty although ${totalPages} pages were announced`,
          url,
        });
      }
      const records: CatalogContent[] = [];
      for (const item of raw) {
        const parsed = neuronSchema.safeParse(item);
        if (parsed.success) records.push(mapNeuroMorphoNeuron(parsed.data, options.baseUrl));
        else {
          const id = (item as { neuron_id?: unknown } | null)?.neuron_id;
          unreadable.push({
            ...(typeof id === "number" || (typeof id === "string" && id) ? { id: `neuromorpho:${id}` } : {}),
            reason: `Unreadable neuron on page ${cursor.page}: ${z.prettifyError(parsed.error)}`,
            url,
          });
        }
      }
      const nextPage = cursor.page + 1;
      return {
        records,
        problems,
        unreadable,
        total: body.page?.totalElements,
        next: nextPage < totalPages ? { page: nextPage, totalPages } : null,
      };
    },
  };
}
