/**
 * `/v2/signatures`: image-signature lookup and similarity search (clio's `image_query.py`), for
 * callers with clio_general on the dataset. Unlike clio, failures have real statuses: 400 for a
 * bad dataset name or point, 403, 404 for a dataset without signatures or no sample near the
 * point, 503 when SIG_BUCKET is unset, 502 when BigQuery fails.
 */
import { z } from "zod";
import { provide } from "../services/root.js";
import { defineGroup, route } from "../http/route.js";
import {
  atLocationResponseSchema,
  likeLocationResponseSchema,
  signatureDatasetSchema,
} from "../schemas/signatures.js";
import { bigqueryClient, storageClient } from "../services/clients.js";
import { createSignatureService, signatureOwners, storageReadObject } from "../services/signatures.js";

/**
 * A coordinate as the query string carries it: decimal digits only, so that `x=` or `x=1e3` is
 * refused rather than read as 0 or 1000 by a lenient number coercion.
 */
const coordinate = z
  .string()
  .regex(/^\d{1,10}$/, { error: "must be a non-negative integer" })
  .transform(Number)
  .refine((v) => v <= 2 ** 32 - 1, { error: "must fit in uint32" });

/** Not strict: clients may add their own parameters (cache busters) and clio ignored them. */
const pointQuery = z.object({ x: coordinate, y: coordinate, z: coordinate });

/**
 * The name validated before it can name a bucket folder or a BigQuery dataset: letters, digits
 * and underscores only, so nothing a caller sends can change the SQL.
 */
const datasetParams = z.object({ dataset: signatureDatasetSchema });

/** One service (and its block and info.json caches) per instance. */
const signatureService = provide("signatures", (root) =>
  createSignatureService({
    bucket: root.config.sigBucket,
    readObject: storageReadObject(root.get(storageClient)),
    bigquery: root.get(bigqueryClient),
  }),
);

/**
 * clio's `has_role('clio_general', dataset)` (declared in `allow`) also on every dataset sharing
 * the requested id's lower-cased signature folder (security review L1).
 */
async function requireCaseTwins(ctx: {
  deps: { datasets: { all(): Promise<Map<string, unknown>> } };
  params: { dataset: string };
  requireRole: (role: string, dataset: string) => Promise<void>;
}): Promise<void> {
  for (const id of await signatureOwners(ctx.deps.datasets, ctx.params.dataset))
    await ctx.requireRole("clio_general", id);
}

export const signaturesApi = defineGroup({
  name: "signatures",
  mounts: ["/v2/signatures"],
  routes: [
    route({
      method: "get",
      path: "/atlocation/:dataset",
      allow: { role: "clio_general", dataset: "dataset" },
      summary: "The image signature stored nearest a point",
      description:
        "The sample within 100 voxels of (x, y, z) nearest to it, as `{point, signature}`; the int64 " +
        "signature is a decimal string. 404 when the dataset has no signatures or no sample is near.",
      params: datasetParams,
      query: pointQuery,
      response: atLocationResponseSchema,
      async handler(ctx) {
        await requireCaseTwins(ctx);
        return ctx.deps.get(signatureService).atLocation(ctx.params.dataset, ctx.query);
      },
    }),
    route({
      method: "get",
      path: "/likelocation/:dataset",
      allow: { role: "clio_general", dataset: "dataset" },
      summary: "Points whose image signature is similar to the one at a point",
      description:
        "Up to 200 samples within Hamming distance 7 of the signature at (x, y, z), nearest first, " +
        "without samples within 100 voxels of the point or of a better match. `score` is 1 - dist/8.",
      params: datasetParams,
      query: pointQuery,
      response: likeLocationResponseSchema,
      async handler(ctx) {
        await requireCaseTwins(ctx);
        return ctx.deps.get(signatureService).likeLocation(ctx.params.dataset, ctx.query);
      },
    }),
  ],
});
