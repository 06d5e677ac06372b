/**
 * DANDI Archive: NWB datasets, through the dandisets REST API (`/api/dandisets/`).
 *
 * The list item's own `modified` is the Dandiset row's timestamp: it does not move when a version
 * is published or the draft edited (harvest review §4). What does move is the harvested version's
 * `modified` (the most recent published version, else the draft), so that is the record's
 * `sourceModified`, the skip-refetch key and the incremental key. `ordering=-modified` sorts by the
 * latest-created version's `modified`, which is that same value, so incremental runs list by it and
 * stop one day past the previous complete run's watermark. Full runs list `ordering=id`, which stays
 * stable while we page. Version metadata (licence, citation, species, anatomy) comes from the
 * harvested version, and its NWB files (path, size, content URL) from the version's asset list, up
 * to `maxFiles` per dandiset (large dandisets have hundreds of thousands of assets).
 */
import { z } from "zod";

import type { CatalogCitation, CatalogContent, CatalogFile, CatalogLink } from "../schemas/catalog.js";
import type { PoliteClient } from "./http.js";
import { isNotFound } from "./http.js";
import {
  joinUrl,
  plainText,
  uniq,
  type SourceHarvester,
  type SourceOptions,
  type UnreadableRecord,
} from "./types.js";

export const DANDI_DEFAULT_SEARCH = "hippocampus";
export const DANDI_HOST_POLICY = { concurrency: 3, minIntervalMs: 100 };
export const DANDI_WEB_URL = "https://dandiarchive.org";

const versionSummary = z.looseObject({
  version: z.string(),
  name: z.string().nullish(),
  size: z.number().nullish(),
  status: z.string().nullish(),
  modified: z.string().nullish(),
});
const listItemSchema = z.looseObject({
  identifier: z.string().min(1),
  modified: z.string(),
  embargo_status: z.string().nullish(),
  contact_person: z.string().nullish(),
  draft_version: versionSummary.nullish(),
  most_recent_published_version: versionSummary.nullish(),
});
export type DandisetListItem = z.infer<typeof listItemSchema>;

const listSchema = z.object({
  count: z.number().nullish(),
  next: z.string().nullish(),
  results: z.array(z.unknown()),
});

const namedThing = z.looseObject({ name: z.string().nullish(), schemaKey: z.string().nullish() });
const metadataSchema = z.looseObject({
  name: z.string().nullish(),
  description: z.string().nullish(),
  license: z.array(z.string()).nullish(),
  citation: z.string().nullish(),
  doi: z.string().nullish(),
  keywords: z.array(z.string()).nullish(),
  about: z.array(namedThing).nullish(),
  contributor: z
    .array(z.looseObject({ name: z.string().nullish(), schemaKey: z.string().nullish() }))
    .nullish(),
  assetsSummary: z
    .looseObject({
      numberOfBytes: z.number().nullish(),
      numberOfFiles: z.number().nullish(),
      species: z.array(namedThing).nullish(),
      approach: z.array(namedThing).nullish(),
      measurementTechnique: z.array(namedThing).nullish(),
      dataStandard: z.array(namedThing).nullish(),
      variableMeasured: z.array(z.union([z.string(), namedThing])).nullish(),
    })
    .nullish(),
});
export type DandiVersionMetadata = z.infer<typeof metadataSchema>;

const cursorSchema = z.object({ page: z.number().int().positive() });

const assetSchema = z.looseObject({
  asset_id: z.string().min(1),
  path: z.string().min(1),
  size: z.number().int().nonnegative().nullish(),
});
const assetPageSchema = z.object({
  count: z.number().nullish(),
  next: z.string().nullish(),
  results: z.array(z.unknown()),
});
export const DANDI_MAX_FILES = 1000;
const ASSET_PAGE_SIZE = 1000;

/** An asset's API download URL, which redirects to the blob; the same as its `contentUrl[0]`. */
export function dandiAssetFile(apiUrl: string, asset: z.infer<typeof assetSchema>): CatalogFile {
  return {
    url: joinUrl(apiUrl, `api/assets/${asset.asset_id}/download/`),
    format: "nwb",
    name: asset.path,
    ...(typeof asset.size === "number" ? { size: asset.size } : {}),
    role: "asset",
  };
}

/** Incremental runs re-list a day before the watermark: clocks and commit order are not exact. */
const OVERLAP_MS = 86_400_000;

/** The version the catalog harvests and its `modified`, which moves on publish and on edits. */
export function harvestedVersion(item: DandisetListItem): { version: string; modified: string } {
  const v = item.most_recent_published_version ?? item.draft_version;
  return { version: v?.version ?? "draft", modified: v?.modified ?? item.modified };
}

const namesOf = (things: { name?: string | null }[] | null | undefined) =>
  uniq((things ?? []).map((t) => t.name));

/** `spdx:CC-BY-4.0` → `CC-BY-4.0`. */
const spdx = (licence: string) => licence.replace(/^spdx:/i, "");

export function mapDandiset(
  item: DandisetListItem,
  version: string,
  meta: DandiVersionMetadata,
  apiUrl: string,
  webUrl = DANDI_WEB_URL,
  files: CatalogFile[] = [],
  assetCount?: number,
): CatalogContent {
  const id = item.identifier;
  const summary = meta.assetsSummary;
  const approaches = namesOf(summary?.approach);
  const links: CatalogLink[] = [
    { rel: "page", url: joinUrl(webUrl, `dandiset/${id}/${version}`) },
    { rel: "api", url: joinUrl(apiUrl, `api/dandisets/${id}/versions/${version}/`) },
  ];
  if (meta.doi) links.push({ rel: "doi", url: `https://doi.org/${meta.doi}` });
  const citations: CatalogCitation[] = meta.citation
    ? [{ text: meta.citation, ...(meta.doi ? { doi: meta.doi, url: `https://doi.org/${meta.doi}` } : {}) }]
    : [];
  const attributes: Record<string, string[]> = {
    approach: approaches,
    measurementTechnique: namesOf(summary?.measurementTechnique),
    dataStandard: namesOf(summary?.dataStandard),
    keywords: uniq(meta.keywords ?? []),
    contributors: namesOf(meta.contributor?.filter((c) => c.schemaKey !== "Organization")),
    embargo: uniq([item.embargo_status]),
    // When the asset list was cut at the file cap: how many of how many are listed.
    filesListed:
      assetCount !== undefined && assetCount > files.length ? [`${files.length} of ${assetCount}`] : [],
  };
  for (const key of Object.keys(attributes)) if (attributes[key]!.length === 0) delete attributes[key];
  const ephys = approaches.some((a) => /electrophysiolog/i.test(a));
  return {
    id: `dandi:${id}`,
    source: "dandi",
    sourceId: id,
    kind: ephys ? "electrophysiology" : "dataset",
    name:
      meta.name ?? item.most_recent_published_version?.name ?? item.draft_version?.name ?? `Dandiset ${id}`,
    description: plainText(meta.description),
    species: namesOf(summary?.species),
    brainRegions: namesOf(meta.about?.filter((a) => !a.schemaKey || a.schemaKey === "Anatomy")),
    cellTypes: [],
    layers: [],
    markers: [],
    files,
    links,
    licence: meta.license?.length ? meta.license.map(spdx).join(" OR ") : null,
    citations,
    attributes,
    sourceModified: harvestedVersion(item).modified,
    sourceVersion: version,
  };
}

/** The version's NWB files, page by page up to `max`; `count` is what the archive announces. */
async function listAssets(
  http: PoliteClient,
  apiUrl: string,
  id: string,
  version: string,
  max: number,
  signal?: AbortSignal,
): Promise<{ files: CatalogFile[]; count: number }> {
  const files: CatalogFile[] = [];
  let count = 0;
  for (let page = 1; files.length < max; page++) {
    const url =
      joinUrl(apiUrl, `api/dandisets/${id}/versions/${version}/assets/`) +
      `?page=${page}&page_size=${ASSET_PAGE_SIZE}`;
    const body = assetPageSchema.parse(await http.getJson(url, signal));
    count = body.count ?? count;
    for (const raw of body.results) {
      const asset = assetSchema.safeParse(raw);
      if (asset.success && asset.data.path.toLowerCase().endsWith(".nwb") && files.length < max) {
        files.push(dandiAssetFile(apiUrl, asset.data));
      }
    }
    if (!body.next || body.results.length === 0) break;
  }
  return { files, count };
}

/**
 * DANDI_SEARCH as free text. The API parses Gmail-style `key:value` operators out of `search`
 * first (dandi-archive `services/search/parser.py`): a bare `word:x` is an operator, and an
 * unknown key is a 400 that would fail every run. A quoted token is free text, so each token
 * holding a `:` is quoted. The grammar has no escape for `"` inside quotes, so quotes are dropped;
 * words stay separate, each matched on its own, as unquoted words are.
 */
export function dandiSearchTerm(search: string): string {
  return search
    .split(/\s+/)
    .map((word) => word.replaceAll('"', ""))
    .filter(Boolean)
    .map((word) => (word.includes(":") ? `"${word}"` : word))
    .join(" ");
}

export function dandiHarvester(
  options: SourceOptions & { webUrl?: string; maxFiles?: number },
): SourceHarvester {
  const maxFiles = options.maxFiles ?? DANDI_MAX_FILES;
  const search = dandiSearchTerm(options.filters?.search ?? "") || DANDI_DEFAULT_SEARCH;
  const pageSize = Math.min(options.pageSize ?? 100, 1000);

  return {
    source: "dandi",
    incremental: true,
    async step(ctx, rawCursor) {
      const { page } = rawCursor ? cursorSchema.parse(rawCursor) : { page: 1 };
      const incremental = ctx.mode === "incremental" && ctx.watermark !== null;
      const ordering = incremental ? "-modified" : "id";
      const url =
        joinUrl(options.baseUrl, "api/dandisets/") +
        `?page=${page}&page_size=${pageSize}&ordering=${ordering}&empty=false&search=${encodeURIComponent(search)}`;
      const body = listSchema.parse(await ctx.http.getJson(url, ctx.signal));
      const unreadable: UnreadableRecord[] = [];
      const items: DandisetListItem[] = [];
      for (const raw of body.results) {
        const parsed = listItemSchema.safeParse(raw);
        if (parsed.success) items.push(parsed.data);
        else {
          const id = (raw as { identifier?: unknown } | null)?.identifier;
          unreadable.push({
            ...(typeof id === "string" && id ? { id: `dandi:${id}` } : {}),
            reason: `Unreadable dandiset on page ${page}: ${z.prettifyError(parsed.error)}`,
            url,
          });
        }
      }
      let reachedWatermark = false;
      let fresh = items;
      if (incremental) {
        const cutoff = new Date(Date.parse(ctx.watermark!) - OVERLAP_MS).toISOString();
        fresh = items.filter((i) => harvestedVersion(i).modified > cutoff);
        reachedWatermark = fresh.length < items.length;
      }

      const known = await ctx.known(fresh.map((i) => `dandi:${i.identifier}`));
      const records: CatalogContent[] = [];
      const seen: string[] = [];
      await Promise.all(
        fresh.map(async (item) => {
          const id = `dandi:${item.identifier}`;
          const { version, modified } = harvestedVersion(item);
          const have = known.get(id);
          if (have && !have.withdrawn && have.sourceModified === modified) {
            seen.push(id);
            return;
          }
          const metaUrl = joinUrl(options.baseUrl, `api/dandisets/${item.identifier}/versions/${version}/`);
          try {
            const meta = metadataSchema.safeParse(await ctx.http.getJson(metaUrl, ctx.signal));
            if (meta.success) {
              const assets = await listAssets(
                ctx.http,
                options.baseUrl,
                item.identifier,
                version,
                maxFiles,
                ctx.signal,
              );
              records.push(
                mapDandiset(
                  item,
                  version,
                  meta.data,
                  options.baseUrl,
                  options.webUrl,
                  assets.files,
                  assets.count,
                ),
              );
            } else {
              const reason = `Unreadable metadata of ${item.identifier} ${version}: ${z.prettifyError(meta.error)}`;
              unreadable.push({ id, reason, url: metaUrl });
            }
          } catch (err) {
            if (!isNotFound(err)) throw err;
            // Listed, so it exists: kept as seen (never withdrawn for this), reported as unreadable.
            unreadable.push({
              id,
              reason: `Version ${version} of ${item.identifier} answers 404`,
              url: metaUrl,
            });
          }
        }),
      );
      const watermark = items.reduce<string | undefined>((m, i) => {
        const v = harvestedVersion(i).modified;
        return m && m > v ? m : v;
      }, undefined);
      const more = Boolean(body.next) && !reachedWatermark && body.results.length > 0;
      return {
        records,
        seen,
        unreadable,
        total: body.count ?? undefined,
        watermark,
        next: more ? { page: page + 1 } : null,
      };
    },
  };
}
