/**
 * Catalog search: the API's parameters adapted to the engine (default status filter, attribute
 * facets no record has), hits turned into record summaries read from Firestore.
 */
import type { Firestore } from "firebase-admin/firestore";
import { badRequest, type Issue } from "../../errors.js";
import type { Logger } from "../../log.js";
import type { CatalogSearchResponse, RecordSummary } from "../../schemas/catalog-search.js";
import type { SearchIndex, SearchResult } from "../../search/index.js";
import { readRecords } from "./records.js";
import { ATTRIBUTE_FACET, CATALOG_FACETS, CATALOG_SORTS, type CatalogIndex } from "./search-index.js";

export const MAX_SEARCH_LIMIT = 200;
const SUMMARY_DESCRIPTION = 300;

export interface CatalogSearchParams {
  q: string;
  filters: Record<string, string[]>;
  limit: number;
  cursor?: string | undefined;
  /** Facets to count; undefined: all. */
  facets?: string[] | undefined;
  sort: string;
}

/** What a search needs: Firestore for the summaries, and this instance's index. */
export interface SearchDeps {
  db: Firestore;
  log: Logger;
  catalogIndex: CatalogIndex;
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

/** 400s the first name that is not a catalog facet. */
export function badFacets(names: string[], path: string): void {
  const issues = facetIssues(names, path);
  if (issues.length) throw badRequest(`Unknown facet ${JSON.stringify(issues[0]!.path[1])}`, issues);
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
export function searchIndex(index: SearchIndex, p: CatalogSearchParams): SearchResult {
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
  deps: SearchDeps,
  params: CatalogSearchParams,
): Promise<CatalogSearchResponse> {
  const { index, origin } = await deps.catalogIndex.get();
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

/** Every id a query and filters select, in relevance order, refusing more than `max` (409). */
export function selectIds(
  index: SearchIndex,
  q: string,
  filters: Record<string, string[]>,
  max: number,
  tooMany: (count: number) => Error,
): string[] {
  const params: CatalogSearchParams = { q, filters, limit: 0, sort: "relevance", facets: [] };
  const first = searchIndex(index, params);
  if (first.total > max) throw tooMany(first.total);
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = searchIndex(index, { ...params, limit: 1000, cursor });
    ids.push(...page.hits.map((h) => h.id));
    cursor = page.nextCursor;
  } while (cursor);
  return ids;
}
