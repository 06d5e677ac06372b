/**
 * `/v2/signatures`: image-signature lookup and similarity search (clio's `image_query.py`), for
 * callers with clio_general on the dataset. Unlike clio, failures have real statuses: 400 for a
 * bad dataset name or point, 403, 404 for a dataset without signatures or no sample near the
 * point, 503 when SIG_BUCKET is unset, 502 when BigQuery fails.
 */
import { z } from "zod";
import type { Deps } from "../services/deps.js";
import { defineGroup, route, type Ctx } from "../http/route.js";
import {
  atLocationResponseSchema,
  likeLocationResponseSchema,
  signatureDatasetSchema,
} from "../schemas/signatures.js";
import { bigqueryFor } from "../services/gcp-clients.js";
import {
  createSignatureService,
  signatureOwners,
  storageReadObject,
  type SignatureService,
} from "../services/signatures.js";
import { storageFor } from "../storage/client.js";

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

type PointCtx = Ctx<z.output<typeof datasetParams>, z.output<typeof pointQuery>>;

/** One service (and its block and info.json caches) per instance. */
const services = new WeakMap<Deps, SignatureService>();

function signatureService(deps: Deps): SignatureService {
  let service = services.get(deps);
  if (!service) {
    service = createSignatureService({
      bucket: deps.config.sigBucket,
      readObject: storageReadObject(storageFor(deps.config)),
      bigquery: bigqueryFor(deps.config),
    });
    services.set(deps, service);
  }
  return service;
}

/**
 * clio's `has_role('clio_general', dataset)` (public datasets count), on the requested id AND on
 * every dataset sharing its lower-cased signature folder (security review L1).
 */
async function requireGeneral({ deps, params, requireRole }: PointCtx): Promise<void> {
  for (const id of await signatureOwners(deps.datasets, params.dataset))
    await requireRole("clio_general", id);
}

export const signaturesApi = defineGroup({
  name: "signatures",
  mounts: ["/v2/signatures"],
  routes: [
    route({
      method: "get",
      path: "/atlocation/:dataset",
      summary: "The image signature stored nearest a point",
      description:
        "The sample within 100 voxels of (x, y, z) nearest to it, as `{point, signature}`; the int64 " +
        "signature is a decimal string. 404 when the dataset has no signatures or no sample is near.",
      params: datasetParams,
      query: pointQuery,
      response: atLocationResponseSchema,
      async handler(ctx) {
        await requireGeneral(ctx);
        return signatureService(ctx.deps).atLocation(ctx.params.dataset, ctx.query);
      },
    }),
    route({
      method: "get",
      path: "/likelocation/:dataset",
      summary: "Points whose image signature is similar to the one at a point",
      description:
        "Up to 200 samples within Hamming distance 7 of the signature at (x, y, z), nearest first, " +
        "without samples within 100 voxels of the point or of a better match. `score` is 1 - dist/8.",
      params: datasetParams,
      query: pointQuery,
      response: likeLocationResponseSchema,
      async handler(ctx) {
        await requireGeneral(ctx);
        return signatureService(ctx.deps).likeLocation(ctx.params.dataset, ctx.query);
      },
    }),
  ],
});
