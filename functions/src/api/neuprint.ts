/**
 * `/v2/neuprint`: forwards a Cypher query to the dataset's neuPrint server with this
 * deployment's neuPrint credential (a secret), for callers holding NEUPRINT_ROLE (clio_general) on
 * the dataset itself; the Cypher must name only that dataset's labels (services/neuprint-cypher.ts).
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
    role: config.neuprintRole,
    maxResponseBytes: config.neuprintMaxResponseBytes,
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
        "`https://{neuprintHTTP.server}/api/custom/custom`; neuPrint's `{columns, data}` is returned as is. " +
        "Needs NEUPRINT_ROLE on the dataset itself (public does not count); the read-only Cypher may " +
        "name only this dataset's labels (`<dataset>_Neuron`, …), every node pattern labelled or one hop " +
        "from a labelled one; answers over NEUPRINT_MAX_RESPONSE_BYTES are refused (502).",
      params: z.object({ dataset: datasetId }),
      body: neuprintRequestSchema,
      response: neuprintResponseSchema,
      async handler({ deps, params, body, user }) {
        // The role (NEUPRINT_ROLE, held on the dataset itself) is checked in the service.
        return deps.get(neuprintService).query(user, params.dataset, body);
      },
    }),
  ],
});
