/**
 * `/v2/neuprint`: forwards a Cypher query to the dataset's neuPrint server with this
 * deployment's neuPrint credential (a secret), for callers with clio_general on the dataset.
 * clio answered 400 for every failure; here a bad query is 400, a dataset without neuPrint 412,
 * neuPrint faults 502, a slow neuPrint 504 and an unset credential 503.
 */
import { z } from "zod";
import { provide } from "../services/root.js";
import { defineGroup, route } from "../http/route.js";
import { datasetId } from "../schemas/common.js";
import { neuprintRequestSchema, neuprintResponseSchema } from "../schemas/neuprint.js";
import { createNeuprintService } from "../services/neuprint.js";

/** One service per instance. */
const neuprintService = provide("neuprint", (root) => {
  const { config } = root;
  return createNeuprintService({
    token: config.neuprintToken,
    getDataset: (name) => root.datasets.get(name),
    baseUrl: config.neuprintBaseUrl,
    timeoutMs: config.neuprintTimeoutSeconds * 1000,
  });
});

export const neuprintApi = defineGroup({
  name: "neuprint",
  mounts: ["/v2/neuprint"],
  routes: [
    route({
      method: "post",
      path: "/:dataset",
      allow: { role: "clio_general", dataset: "dataset" },
      summary: "Run a Cypher query on the dataset's neuPrint server",
      description:
        "Body `{cypher, dataset}` (neuPrint's dataset name, e.g. `hemibrain:v1.2.1`), sent to " +
        "`https://{neuprintHTTP.server}/api/custom/custom`; neuPrint's `{columns, data}` is returned as is.",
      params: z.object({ dataset: datasetId }),
      body: neuprintRequestSchema,
      response: neuprintResponseSchema,
      async handler({ deps, params, body }) {
        return deps.get(neuprintService).query(params.dataset, body);
      },
    }),
  ],
});
