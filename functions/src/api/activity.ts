/**
 * `/v2/activity`: WormWideWeb's whole-brain activity API (datasets, one neuron's trace, behaviour,
 * encoding, the Atanas & Kim encoding table, find-neuron) in its shapes, with its caching: the data
 * change only on re-ingest, so every answer has an ETag (the source file's hash) and WormWideWeb's
 * Cache-Control. Public datasets need no token. Traces come from Cloud Storage, never Firestore.
 */
import type { Request, Response } from "express";
import { defineGroup, route } from "../http/route.js";
import {
  activityDatasetParams,
  atanasKimResponse,
  behaviorResponse,
  datasetsResponse,
  encodingResponse,
  findNeuronResponse,
  traceParams,
  traceResponse,
  type ActivityDatasetDoc,
} from "../schemas/activity.js";
import {
  ActivityStore,
  atanasKimEncoding,
  behavior,
  encoding,
  findNeuron,
  trace,
} from "../services/activity/read.js";
import { storageClient } from "../services/clients.js";
import { provide, type Root } from "../services/root.js";
import { readCheck } from "./connectome.js";

const DAY = 86_400;

/** ETag from the versions served, Cache-Control as WormWideWeb; true when 304 was sent. */
function cached(req: Request, res: Response, docs: ActivityDatasetDoc[], maxAge: number, tag = ""): boolean {
  const etag = `"${docs.map((d) => d.version.slice(0, 16)).join("-")}${tag}"`;
  res.setHeader("ETag", etag);
  res.setHeader(
    "Cache-Control",
    docs.every((d) => d.public) ? `public, max-age=${maxAge}` : "private, max-age=3600",
  );
  if (req.headers["if-none-match"] === etag) {
    res.status(304).end();
    return true;
  }
  return false;
}

/** The group with its own per-instance store (see ActivityStore). */
export const activityStore = provide(
  "activity-store",
  (root) =>
    new ActivityStore({
      db: root.db,
      storage: () => root.get(storageClient),
      bucket: root.config.activityBucket,
      now: root.now,
      ttlMs: root.config.cacheSeconds * 1000,
    }),
);

export function makeActivityApi() {
  const storeOf = (deps: Root) => deps.get(activityStore);
  /** Every dataset the caller may read (public ones, and private ones they can read). */
  const readable = async (ctx: Parameters<typeof readCheck>[0]) => {
    const check = await readCheck(ctx);
    const docs: ActivityDatasetDoc[] = [];
    for (const doc of (await storeOf(ctx.deps).catalog()).byId.values()) {
      try {
        await check(doc.dataset_id, doc.public);
        docs.push(doc);
      } catch {
        // not readable by this caller: left out of lists
      }
    }
    return docs.sort((a, b) => (a.dataset_id < b.dataset_id ? -1 : 1));
  };
  const one = async (ctx: Parameters<typeof readCheck>[0], id: string) => {
    const check = await readCheck(ctx);
    const doc = await storeOf(ctx.deps).dataset(id);
    await check(doc.dataset_id, doc.public);
    return doc;
  };

  return defineGroup({
    name: "activity",
    mounts: ["/v2/activity"],
    routes: [
      route({
        method: "get",
        path: "/datasets",
        allow: "anyone",
        summary: "Every activity dataset (one row per dataset, its types as a list)",
        description: "WormWideWeb repeats a dataset once per type; this is the list it meant. Cached 1 day.",
        response: datasetsResponse,
        async handler(ctx) {
          const docs = await readable(ctx);
          if (cached(ctx.req, ctx.res, docs, DAY)) return undefined;
          return docs.map((d) => ({
            dataset_id: d.dataset_id,
            dataset_type: d.dataset_type,
            n_neuron: d.n_neuron,
            n_labeled: d.n_labeled,
            max_t: d.max_t,
            avg_timestep: d.avg_timestep,
          }));
        },
      }),
      route({
        method: "get",
        path: "/atanas_kim_2023_encoding",
        allow: "anyone",
        summary: "Encoding of the labelled Atanas & Kim 2023 NeuroPAL datasets, by dataset",
        description: "`idx_neruon` (sic) is WormWideWeb's field name. Cached 30 days.",
        response: atanasKimResponse,
        async handler(ctx) {
          const docs = await readable(ctx);
          if (cached(ctx.req, ctx.res, docs, 30 * DAY)) return undefined;
          return atanasKimEncoding(storeOf(ctx.deps), docs);
        },
      }),
      route({
        method: "get",
        path: "/find_neuron",
        allow: "anyone",
        summary:
          "Where each labelled neuron class was recorded (class → [dv, lr], match → datasets → indices)",
        response: findNeuronResponse,
        async handler(ctx) {
          const docs = await readable(ctx);
          if (cached(ctx.req, ctx.res, docs, DAY)) return undefined;
          return findNeuron(docs, (await storeOf(ctx.deps).catalog()).meta);
        },
      }),
      route({
        method: "get",
        path: "/:dataset/behavior",
        allow: "anyone",
        summary: "Behaviour traces (velocity x10, head curve, angular velocity, feeding) and reversals",
        params: activityDatasetParams,
        response: behaviorResponse,
        async handler(ctx) {
          const doc = await one(ctx, ctx.params.dataset);
          if (cached(ctx.req, ctx.res, [doc], 7 * DAY, "-b")) return undefined;
          return behavior(storeOf(ctx.deps), doc);
        },
      }),
      route({
        method: "get",
        path: "/:dataset/encoding",
        allow: "anyone",
        summary: "Encoding table of a dataset (404 when it has none)",
        params: activityDatasetParams,
        response: encodingResponse,
        async handler(ctx) {
          const doc = await one(ctx, ctx.params.dataset);
          if (cached(ctx.req, ctx.res, [doc], 7 * DAY, "-e")) return undefined;
          return encoding(storeOf(ctx.deps), doc);
        },
      }),
      route({
        method: "get",
        path: "/:dataset/:idx",
        allow: "anyone",
        summary: "The z-scored GCaMP trace of one neuron (1-based index), 6 decimals",
        params: traceParams,
        response: traceResponse,
        async handler(ctx) {
          const doc = await one(ctx, ctx.params.dataset);
          if (cached(ctx.req, ctx.res, [doc], DAY, `-${ctx.params.idx}`)) return undefined;
          return trace(storeOf(ctx.deps), doc, ctx.params.idx);
        },
      }),
    ],
  });
}

export const activityApi = makeActivityApi();
