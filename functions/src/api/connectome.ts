/**
 * `/v2/connectome`: WormWideWeb's connectome API (available-neurons, get-edges, find-paths) with its
 * names, parameters and response shapes, so its front end can be pointed here; errors use our
 * vocabulary. Published connectomes are public: anyone may read a public dataset, a private one
 * needs can_read on the clio dataset of the same id. Design and quirks: docs/connectome.md.
 */
import type { Request, Response } from "express";
import { z } from "zod";
import { ApiError, forbidden, unauthenticated } from "../errors.js";
import { defineGroup, route, type Ctx } from "../http/route.js";
import {
  availableNeuronsQuery,
  availableNeuronsResponse,
  findPathsQuery,
  findPathsResponse,
  getEdgesBody,
  getEdgesResponse,
  type ConnectomeDatasetDoc,
} from "../schemas/connectome.js";
import {
  availableNeurons,
  findPaths,
  getEdges,
  resolveDatasets,
  type Authorize,
  type PathLimits,
} from "../services/connectome/queries.js";
import { ConnectomeStore } from "../services/connectome/store.js";
import { provide, type Root } from "../services/root.js";

/** WormWideWeb caches available-neurons for 90 days: the data only change on re-ingest. */
const AVAILABLE_NEURONS_MAX_AGE = 7_776_000;

/** Throws 401/403 unless the caller may read `dataset`; public datasets need nothing. */
export type ReadCheck = (dataset: string, isPublic: boolean) => Promise<void>;

/**
 * Routes here are `allow: "anyone"` (a token, when sent, is verified by http/); then public
 * datasets need nothing and private ones need can_read on the clio dataset of the same id.
 * Shared with /v2/activity.
 */
export function readCheck(ctx: Ctx): Promise<ReadCheck> {
  return Promise.resolve(async (dataset: string, isPublic: boolean) => {
    if (isPublic) return;
    if (!ctx.principal) throw unauthenticated(`Dataset ${dataset} is not public: sign in`);
    if (!(await ctx.can("can_read", dataset))) throw forbidden(`No read access to dataset ${dataset}`);
  });
}

async function authorizer(ctx: Ctx): Promise<Authorize> {
  const check = await readCheck(ctx);
  return (doc: ConnectomeDatasetDoc) => check(doc.id, doc.public);
}

/** Sets ETag and Cache-Control; answers 304 (true) when the client already has this version. */
function cacheHeaders(req: Request, res: Response, docs: ConnectomeDatasetDoc[], maxAge: number): boolean {
  const etag = `"${docs.map((d) => d.version.slice(0, 12)).join("-")}"`;
  res.setHeader("ETag", etag);
  res.setHeader(
    "Cache-Control",
    docs.every((d) => d.public) ? `public, max-age=${maxAge}` : `private, max-age=${Math.min(maxAge, 3600)}`,
  );
  if (req.headers["if-none-match"] === etag) {
    res.status(304).end();
    return true;
  }
  return false;
}

export interface ConnectomeApiOptions {
  limits?: PathLimits;
}

/**
 * The group with its own store: one instance of the function builds it once, so the loaded graphs
 * live as long as the instance (tests and benches build fresh ones to get a cold instance).
 */
export const connectomeStore = provide(
  "connectome-store",
  (root) => new ConnectomeStore({ db: root.db, now: root.now, ttlMs: root.config.cacheSeconds * 1000 }),
);

export function makeConnectomeApi(options: ConnectomeApiOptions = {}) {
  const storeOf = (deps: Root) => deps.get(connectomeStore);
  const limitsOf = (deps: Root): PathLimits =>
    options.limits ?? {
      defaultMaxPaths: deps.config.connectomeDefaultPaths,
      hardMaxPaths: deps.config.connectomeMaxPaths,
      maxSteps: deps.config.connectomeMaxSteps,
    };

  const group = defineGroup({
    name: "connectome",
    mounts: ["/v2/connectome"],
    routes: [
      route({
        method: "get",
        path: "/available-neurons",
        allow: "anyone",
        summary: "Cells and classes of one or more datasets (WormWideWeb's available-neurons)",
        description:
          "`datasets` is a comma-separated list; the answer is the union. A class lists every cell of the class " +
          "in the cell table (as WormWideWeb does). Cached 90 days (`ETag`, `If-None-Match` → 304).",
        query: availableNeuronsQuery,
        response: availableNeuronsResponse,
        async handler(ctx) {
          const docs = await resolveDatasets(storeOf(ctx.deps), ctx.query.datasets, await authorizer(ctx));
          if (cacheHeaders(ctx.req, ctx.res, docs, AVAILABLE_NEURONS_MAX_AGE)) return undefined;
          return availableNeurons(storeOf(ctx.deps), docs);
        },
      }),
      route({
        method: "post",
        path: "/get-edges",
        allow: "anyone",
        summary: "Edges among neurons and classes, per dataset (WormWideWeb's get-edges)",
        description:
          "Labels: an input neuron by name, an input class by class, other cells by name when " +
          "`show_individual_neuron` or their class is split by an input neuron, else by class. Gap junctions " +
          "(`e`) are undirected (`pre` ≤ `post`); `list_count[i]` is the count in `datasets[i]`.",
        body: getEdgesBody,
        response: getEdgesResponse,
        async handler(ctx) {
          const ids = [...new Set(ctx.body.datasets)];
          if (ids.length === 0)
            throw new ApiError("invalid_argument", "At least one dataset must be provided.");
          const docs = await resolveDatasets(storeOf(ctx.deps), ids, await authorizer(ctx));
          return getEdges(storeOf(ctx.deps), docs, {
            ...ctx.body,
            datasets: ids,
            neurons: [...new Set(ctx.body.neurons)],
            classes: [...new Set(ctx.body.classes)],
          });
        },
      }),
      route({
        method: "get",
        path: "/get-edges",
        allow: "anyone",
        summary: "Not allowed: get-edges is a POST",
        response: z.null(),
        handler() {
          return Promise.reject(
            new ApiError("method_not_allowed", "Invalid request method: get-edges is a POST"),
          );
        },
      }),
      route({
        method: "get",
        path: "/find-paths",
        allow: "anyone",
        summary: "Every tied shortest path between two neurons or classes (WormWideWeb's find-paths)",
        description:
          "networkx-exact: Dijkstra on 1/synapse count (`weighted=true`) or hop count, float costs summed from " +
          "the start. Only the exact string `true` is true. An unknown start is 400, an unknown end 200 " +
          '"No path found". Extensions: `k` (Yen\'s k shortest), `maxHops`, `minSynapses`, ' +
          "`synapseType=chemical|electrical|both`, `datasets=a,b` (answers `{results: [...]}`), `maxPaths`; " +
          "each path also gives `hops`, `weakest_edge` and `cost`. Caps set `truncated: true`.",
        query: findPathsQuery,
        response: findPathsResponse,
        async handler(ctx) {
          const q = ctx.query;
          const multi = q.datasets !== undefined;
          const ids = multi ? [...new Set(q.datasets!.split(",").filter((s) => s.length > 0))] : [q.dataset!];
          const parsedIds = z
            .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/))
            .min(1)
            .max(32)
            .safeParse(ids);
          if (!parsedIds.success) throw new ApiError("invalid_argument", "datasets must be 1-32 dataset ids");
          const docs = await resolveDatasets(storeOf(ctx.deps), parsedIds.data, await authorizer(ctx));
          return findPaths(storeOf(ctx.deps), docs, q, limitsOf(ctx.deps), multi);
        },
      }),
    ],
  });
  return group;
}

export const connectomeApi = makeConnectomeApi();
