/** `/annotations` (and `/clio_toplevel/annotations`): clio's legacy v1 annotations, any JSON at x,y,z. */
import { z } from "zod";
import { sendList } from "../http/paging.js";
import { pageQueryShape } from "../schemas/common.js";
import { defineGroup, route } from "../http/route.js";
import {
  annotationsParams,
  locationQuery,
  storableObject,
  v1AnnotationOutSchema,
} from "../schemas/annotations.js";
import { deleteV1, v1Pages, writeV1 } from "../services/annotations-v1.js";

export const annotationsV1Api = defineGroup({
  name: "annotationsv1",
  mounts: ["/annotations", "/clio_toplevel/annotations"],
  routes: [
    route({
      method: "get",
      path: "/:dataset",
      allow: { permission: "can_read", dataset: "dataset" },
      summary: "The caller's v1 annotations in a dataset, keyed x_y_z",
      description:
        "Each value is the posted object plus `timestamp`, `dataset`, `location`, `locationkey`, `email` and `id`. Pageable.",
      params: annotationsParams,
      query: z.strictObject(pageQueryShape),
      response: z.record(z.string(), v1AnnotationOutSchema),
      async handler(ctx) {
        const read = v1Pages(ctx.deps, ctx, ctx.params.dataset);
        await sendList(ctx.res, { shape: "object", read, limit: ctx.query.limit, cursor: ctx.query.cursor });
      },
    }),
    route({
      method: "post",
      path: "/:dataset",
      allow: { permission: "can_write_own", dataset: "dataset" },
      alsoPut: true,
      summary: "Store any JSON object at ?x=&y=&z=, replacing what was there",
      params: annotationsParams,
      query: locationQuery,
      body: storableObject,
      response: z.null(),
      async handler(ctx) {
        await writeV1(ctx.deps, ctx, ctx.params.dataset, ctx.query, ctx.body);
        return null;
      },
    }),
    route({
      method: "delete",
      path: "/:dataset",
      allow: { permission: "can_write_own", dataset: "dataset" },
      summary: "Delete the caller's annotation at ?x=&y=&z=",
      params: annotationsParams,
      query: locationQuery,
      response: z.null(),
      async handler(ctx) {
        await deleteV1(ctx.deps, ctx, ctx.params.dataset, ctx.query);
        return null;
      },
    }),
  ],
});
