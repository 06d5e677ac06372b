/** `/v2/datasets`: clio's dataset metadata. */
import { z } from "zod";
import { datasetChangesRoute } from "./audit.js";
import { sendList } from "../http/paging.js";
import { arrayPages } from "../store/pages.js";
import { pageQueryShape } from "../schemas/common.js";
import { defineGroup, route } from "../http/route.js";
import { datasetId, queryBool } from "../schemas/common.js";
import {
  datasetsDeleteBodySchema,
  datasetsPostBodySchema,
  datasetsResponseSchema,
  storedDatasetSchema,
} from "../schemas/datasets.js";
import { deleteDatasets, readableDatasets, readDataset, writeDatasets } from "../services/datasets.js";

const templatesQuery = z.strictObject({ templates: queryBool.optional() });

export const datasetsApi = defineGroup({
  name: "datasets",
  mounts: ["/v2/datasets"],
  routes: [
    route({
      method: "get",
      path: "/",
      allow: "signedIn",
      summary: "The datasets the caller can read, by id",
      description: "`{tag}` and `{uuid}` are filled in from each dataset unless `templates=true`. Pageable.",
      query: z.strictObject({ templates: queryBool.optional(), ...pageQueryShape }),
      response: datasetsResponseSchema,
      async handler({ res, deps, user, query }) {
        const items = await readableDatasets(deps, user, query.templates ?? false);
        await sendList(res, {
          shape: "object",
          read: arrayPages(items),
          limit: query.limit,
          cursor: query.cursor,
        });
      },
    }),
    route({
      method: "get",
      path: "/:dataset",
      allow: { permission: "can_read", dataset: "dataset" },
      summary: "One dataset",
      params: z.object({ dataset: datasetId }),
      query: templatesQuery,
      response: storedDatasetSchema,
      handler: ({ deps, user, params, query }) =>
        readDataset(deps, user, params.dataset, query.templates ?? false),
    }),
    route({
      method: "post",
      path: "/",
      allow: "signedIn",
      alsoPut: true,
      summary: "Create or replace datasets",
      description:
        "Body `{datasetId: dataset}`. Admins write any dataset; dataset admins replace their own. " +
        "A tag older than the stored one is refused with 409. All or nothing.",
      body: datasetsPostBodySchema,
      response: z.null(),
      async handler({ deps, user, body }) {
        await writeDatasets(deps, user, body);
        return null;
      },
    }),
    route({
      method: "delete",
      path: "/",
      allow: "admin",
      summary: "Delete datasets",
      body: datasetsDeleteBodySchema,
      response: z.object({ deleted: z.array(z.string()) }),
      async handler({ deps, body }) {
        return { deleted: await deleteDatasets(deps, body) };
      },
    }),
    // issue 12: GET /:dataset/changes, the dataset's change feed (api/audit.ts).
    datasetChangesRoute,
  ],
});
