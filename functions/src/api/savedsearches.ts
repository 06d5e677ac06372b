/** `/v2/savedsearches`: the caller's saved image searches, one per dataset location. */
import { z } from "zod";
import { sendList } from "../http/paging.js";
import { defineGroup, route } from "../http/route.js";
import { datasetParams, listQuery, locationQuery } from "../schemas/atlas.js";
import { savedSearchBodySchema, savedSearchesByLocationSchema } from "../schemas/savedsearches.js";
import { deleteSearch, savedSearchPages, saveSearch } from "../services/savedsearches.js";

export const savedSearchesApi = defineGroup({
  name: "savedsearches",
  mounts: ["/v2/savedsearches"],
  routes: [
    route({
      method: "get",
      path: "/:dataset",
      allow: { permission: "can_write_own", dataset: "dataset" },
      summary: "The caller's saved searches in a dataset, keyed x_y_z",
      params: datasetParams,
      query: listQuery,
      response: savedSearchesByLocationSchema,
      async handler(ctx) {
        const { res, deps, user, params, query } = ctx;
        const read = savedSearchPages(deps, user, params.dataset);
        await sendList(res, { shape: "object", read, limit: query.limit, cursor: query.cursor });
      },
    }),
    route({
      method: "post",
      path: "/:dataset",
      allow: { permission: "can_write_own", dataset: "dataset" },
      alsoPut: true,
      summary: "Save (or replace) the caller's search at a location",
      params: datasetParams,
      query: locationQuery,
      body: savedSearchBodySchema,
      response: z.null(),
      async handler(ctx) {
        const { deps, user, params, query, body } = ctx;
        await saveSearch(deps, user, params.dataset, query, body);
        return null;
      },
    }),
    route({
      method: "delete",
      path: "/:dataset",
      allow: { permission: "can_write_own", dataset: "dataset" },
      summary: "Delete the caller's saved search at a location",
      params: datasetParams,
      query: locationQuery,
      response: z.null(),
      async handler(ctx) {
        const { deps, user, params, query } = ctx;
        await deleteSearch(deps, user, params.dataset, query);
        return null;
      },
    }),
  ],
});
