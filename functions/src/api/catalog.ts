/**
 * `/v2/catalog`: the harvested catalog. Search, records and downloads are readable by any signed-in
 * user; harvest control and index rebuilds are for admins. Search design: docs/catalog-search.md.
 */
import type { Response } from "express";
import { z } from "zod";
import { badRequest, notFound, unavailable } from "../errors.js";
import { NEXT_CURSOR_HEADER } from "../http/paging.js";
import { catalogInstance } from "../services/catalog/instance.js";
import type { Root } from "../services/root.js";
import { defineGroup, route } from "../http/route.js";
import { catalogRecordSchema, catalogSourceSchema, runRecordSchema } from "../schemas/catalog.js";
import { catalogSearchResponseSchema, indexPointerSchema } from "../schemas/catalog-search.js";
import { getRun, harvestAndIndex, listRuns, queueHarvest } from "../services/harvest.js";
import {
  resolveSelection,
  streamDownload,
  type CatalogZip,
  type DownloadSelection,
} from "../services/catalog/download.js";
import { getRecord } from "../services/catalog/records.js";
import { queryBool } from "../schemas/common.js";
import { jobAcceptedSchema } from "../schemas/jobs.js";
import { acceptJob } from "./jobs.js";
import {
  CATALOG_FACETS,
  CATALOG_SORTS,
  publishCatalogIndex,
  readIndexPointer,
} from "../services/catalog/search-index.js";
import { badFacets, MAX_SEARCH_LIMIT, searchCatalog, sortIssues } from "../services/catalog/search.js";

/** The root's parts a catalog service takes, with the instance's loaded index and download client. */
function withCatalog(deps: Root) {
  return { db: deps.db, config: deps.config, now: deps.now, log: deps.log, ...deps.get(catalogInstance) };
}

/** Query keys that are not facet filters. */
const RESERVED = new Set(["q", "limit", "cursor", "facets", "sort"]);
const MAX_VALUES = 100;

const filterValues = z.union([z.string().max(500), z.array(z.string().max(500)).max(MAX_VALUES)]);
const asList = (v: string | string[]) => (Array.isArray(v) ? v : [v]).filter((s) => s.length > 0);

/** Declared keys (for validation and the OpenAPI document), and any other key as a facet filter. */
const searchQuery = z
  .object({
    q: z.string().max(2048).optional(),
    limit: z.coerce.number().int().min(0).max(MAX_SEARCH_LIMIT).optional(),
    cursor: z.string().max(4096).optional(),
    facets: z.string().max(2048).optional(),
    sort: z.string().max(100).optional(),
    ...Object.fromEntries(CATALOG_FACETS.map((f) => [f, filterValues.optional()])),
  })
  .catchall(filterValues);

const downloadBody = z.union([
  z.strictObject({ ids: z.array(z.string().min(3).max(300)).min(1).max(100_000) }),
  z
    .strictObject({
      q: z.string().max(2048).optional(),
      filters: z.record(z.string(), filterValues).optional(),
    })
    .refine((b) => b.q !== undefined || b.filters !== undefined, {
      error: 'give ids, or q and/or filters ({q: ""} selects every current record)',
    }),
]);

const harvestBody = z
  .strictObject({
    limit: z.number().int().positive().max(1_000_000).optional(),
    mode: z.enum(["full", "incremental"]).optional(),
    /** false: create (or find) the run and answer 202 at once; a later invocation works on it. */
    wait: z.boolean().optional(),
  })
  .optional();

/** `?async=true`: run the work as a job (GET /v2/jobs/{id}) and answer 202 at once. */
const asyncQuery = z.strictObject({ async: queryBool.optional() });

/**
 * Sends a download: status and headers, then the archive as it is produced; stops the download
 * when the client goes away before the end.
 */
async function sendZip(res: Response, zip: CatalogZip): Promise<void> {
  res.status(200);
  res.setHeader("Content-Type", zip.contentType);
  res.setHeader("Content-Disposition", `attachment; filename="${zip.filename}"`);
  res.setHeader("Cache-Control", "no-store");
  const onClose = () => {
    if (!res.writableFinished) zip.abort(new Error("client closed the connection"));
  };
  res.on("close", onClose);
  const sent = new Promise<void>((resolve, reject) => {
    zip.stream.on("error", reject);
    res.on("error", reject);
    res.on("finish", resolve);
    res.on("close", resolve);
  });
  zip.stream.pipe(res);
  try {
    await Promise.all([zip.done, sent]);
  } finally {
    res.off("close", onClose);
  }
}

export const catalogApi = defineGroup({
  name: "catalog",
  mounts: ["/v2/catalog"],
  routes: [
    route({
      method: "get",
      path: "/search",
      allow: "signedIn",
      summary: "Full-text search of the catalog with filters, facet counts and paging",
      description:
        "`q`: words, all required (if no record has them all, records with the most come first); the " +
        "last word is also a prefix, as is any `word*`. Any other query key is a facet filter, repeated " +
        `for several values (OR within a facet, AND across facets): ${CATALOG_FACETS.join(", ")} or ` +
        "`attributes.<key>`. Withdrawn records are left out unless `status` is given " +
        "(`status=withdrawn`, or both). `facets`: comma-separated facets to count (default all; " +
        "empty for none); every value is counted, not the first 10. `sort`: `relevance` (default), " +
        `${CATALOG_SORTS.join(", ")}, a leading - for descending. \`limit\` (default 20, at most ` +
        `${MAX_SEARCH_LIMIT}) and \`cursor\` (the previous page's \`next\`, also in ${NEXT_CURSOR_HEADER}).`,
      query: searchQuery,
      response: catalogSearchResponseSchema,
      async handler({ deps, query, res }) {
        const filters: Record<string, string[]> = {};
        for (const [key, value] of Object.entries(query)) {
          if (!RESERVED.has(key) && value !== undefined) filters[key] = asList(value as string | string[]);
        }
        badFacets(Object.keys(filters), "query");
        const facets = query.facets
          ?.split(",")
          .map((f) => f.trim())
          .filter(Boolean);
        if (facets) badFacets(facets, "facets");
        const sort = query.sort ?? "relevance";
        const sortProblems = sortIssues(sort);
        if (sortProblems.length)
          throw badRequest(`Invalid query at sort: ${sortProblems[0]!.message}`, sortProblems);
        const result = await searchCatalog(withCatalog(deps), {
          q: query.q ?? "",
          filters,
          limit: query.limit ?? 20,
          cursor: query.cursor,
          facets,
          sort,
        });
        if (result.next) res.setHeader(NEXT_CURSOR_HEADER, result.next);
        return result;
      },
    }),
    route({
      method: "get",
      path: "/records/:id",
      allow: "signedIn",
      summary: "One catalog record by id (`source:sourceId`, URL-encoded)",
      params: z.object({ id: z.string().min(3).max(300) }),
      response: catalogRecordSchema,
      handler: ({ deps, params }) => getRecord(deps.db, params.id),
    }),
    route({
      method: "post",
      path: "/download",
      allow: "signedIn",
      summary: "A zip of the selected records' files, with manifest.json",
      description:
        "Body `{ids: [...]}` or `{q, filters: {facet: value or [values]}}` (as search; withdrawn records " +
        "only with an explicit `status` filter). Streams `application/zip`: each record's files under " +
        "`<record id>/`, fetched from the sources, and `manifest.json` listing every record (licence, " +
        "citations) and file, with what could not be fetched and why. More records than " +
        "CATALOG_DOWNLOAD_MAX_RECORDS: 409; stated sizes above CATALOG_DOWNLOAD_MAX_BYTES: 413, both " +
        "before anything is streamed. Files of unstated size stop being added at the byte limit. " +
        "With `?async=true` the same checks answer 202 `{job, location}` and a job writes the zip to " +
        "CATALOG_BUCKET; its result's `url` is a signed URL to it (GET /v2/jobs/{id}).",
      query: asyncQuery,
      body: downloadBody,
      response: jobAcceptedSchema,
      async handler(ctx) {
        const { deps, body, res, query } = ctx;
        let selection: DownloadSelection;
        if ("ids" in body) selection = { ids: body.ids };
        else {
          const filters = Object.fromEntries(
            Object.entries(body.filters ?? {}).map(([k, v]) => [k, asList(v)]),
          );
          badFacets(Object.keys(filters), "filters");
          selection = { q: body.q ?? "", filters };
        }
        if (query.async && !deps.config.catalogBucket)
          throw unavailable("Catalog bundles need CATALOG_BUCKET, which is not set on this server");
        const resolved = await resolveSelection(withCatalog(deps), selection);
        if (query.async)
          return acceptJob(ctx, { kind: "catalog-bundle", dataset: null, input: { selection } });
        await sendZip(res, streamDownload(withCatalog(deps), selection, resolved));
        return undefined;
      },
    }),
  ],
});

/**
 * Harvest control and index rebuilds, a function of their own: a rebuild holds the whole
 * catalog's index in memory and a harvest step can take minutes, which the read path above
 * should not be sized for. Hosting routes these paths here before the general /v2/catalog rule.
 */
export const catalogAdminApi = defineGroup({
  name: "catalogadmin",
  mounts: ["/v2/catalog"],
  routes: [
    route({
      method: "get",
      path: "/index",
      allow: "signedIn",
      summary: "The published search index: record count, build time, blob",
      description:
        "Admins see the whole pointer; others see no bucket, object or trigger (which names the " +
        "admin who rebuilt it; security review L5).",
      response: indexPointerSchema.nullable(),
      async handler({ deps, can }) {
        const pointer = await readIndexPointer(deps.db);
        if (!pointer || (await can("is_admin"))) return pointer;
        return { ...pointer, bucket: null, object: null, trigger: "" };
      },
    }),
    route({
      method: "post",
      path: "/index",
      allow: "admin",
      summary: "Rebuild and publish the search index now",
      description: "`?async=true`: answer 202 `{job, location}` and rebuild in a job.",
      query: asyncQuery,
      response: z.union([indexPointerSchema, jobAcceptedSchema]),
      async handler(ctx) {
        const { deps, user, query } = ctx;
        if (query.async) return acceptJob(ctx, { kind: "index-rebuild", dataset: null, input: {} });
        return publishCatalogIndex(deps, `admin:${user.email}`);
      },
    }),
    route({
      method: "post",
      path: "/harvest/:source",
      allow: "admin",
      summary: "Start or resume a source's harvest run",
      description:
        "Works on the source's active run (or a new one, with the optional `limit` and `mode`) for up to " +
        "HARVEST_REQUEST_BUDGET_SECONDS and answers 200 with the run record: `complete`/`partial` when it " +
        "finished (the search index is then rebuilt), `paused` when the budget ran out (POST again to " +
        "continue). `{wait: false}` only creates the run and answers 202; the next scheduled invocation " +
        "works on it. 409 while another worker holds the run. `?async=true`: answer 202 `{job, location}` " +
        "and work on the run in a job for up to HARVEST_TIME_BUDGET_SECONDS.",
      params: z.object({ source: catalogSourceSchema }),
      query: asyncQuery,
      body: harvestBody,
      response: z.union([
        z.object({ run: runRecordSchema, index: indexPointerSchema.nullable() }),
        jobAcceptedSchema,
      ]),
      async handler(ctx) {
        const { deps, params, body, user, res, query } = ctx;
        const request = { limit: body?.limit, mode: body?.mode };
        if (query.async) {
          return acceptJob(ctx, {
            kind: "harvest",
            dataset: null,
            input: {
              source: params.source,
              ...(request.limit !== undefined && { limit: request.limit }),
              ...(request.mode && { mode: request.mode }),
            },
          });
        }
        if (body?.wait === false) {
          const run = await queueHarvest(deps, params.source, request);
          res.status(202);
          return { run, index: null };
        }
        return harvestAndIndex(
          deps,
          params.source,
          { ...request, timeBudgetMs: deps.config.harvestRequestBudgetSeconds * 1000 },
          `admin:${user.email}`,
        );
      },
    }),
    route({
      method: "get",
      path: "/runs",
      allow: "admin",
      summary: "Recent harvest runs, newest first",
      query: z.strictObject({
        source: catalogSourceSchema.optional(),
        limit: z.coerce.number().int().min(1).max(100).optional(),
      }),
      response: z.array(runRecordSchema),
      async handler({ deps, query }) {
        return listRuns(deps.db, {
          ...(query.source ? { source: query.source } : {}),
          ...(query.limit ? { limit: query.limit } : {}),
        });
      },
    }),
    route({
      method: "get",
      path: "/runs/:id",
      allow: "admin",
      summary: "One harvest run: status, counts, progress, errors",
      params: z.object({ id: z.string().regex(/^[A-Za-z0-9_.:-]{1,200}$/, { error: "not a run id" }) }),
      response: runRecordSchema,
      async handler({ deps, params }) {
        const run = await getRun(deps.db, params.id);
        if (!run) throw notFound(`No harvest run ${JSON.stringify(params.id)}`);
        return run;
      },
    }),
  ],
});
