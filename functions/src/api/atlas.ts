/**
 * `/v2/atlas` (points per dataset, the cross-dataset listing, writes at `?x=&y=&z=`) and
 * `/v2/atlas-verify` (the verification toggle clio's README documents). Two groups because each
 * mount serves all of a group's routes.
 */
import { z } from "zod";
import { auditDigests } from "../http/guard.js";
import { sendList } from "../http/paging.js";
import { pageQueryShape } from "../schemas/common.js";
import { defineGroup, route } from "../http/route.js";
import {
  atlasBodySchema,
  atlasByLocationSchema,
  atlasIdParams,
  atlasListSchema,
  atlasPointSchema,
  datasetParams,
  listQuery,
  locationQuery,
} from "../schemas/atlas.js";
import {
  deletePoint,
  ownPointPages,
  toggleVerified,
  upsertPoint,
  visiblePointPages,
} from "../services/atlas.js";

export const atlasApi = defineGroup({
  name: "atlas",
  mounts: ["/v2/atlas"],
  routes: [
    route({
      method: "get",
      path: "/all",
      allow: "signedIn",
      summary: "Every atlas point the caller may see, as a list",
      description:
        "Verified points in datasets the caller can read, the caller's own points, and unverified points " +
        "in datasets where the caller has clio_write. Pageable.",
      query: z.strictObject(pageQueryShape),
      response: atlasListSchema,
      async handler(ctx) {
        const { res, deps, user, query } = ctx;
        const read = await visiblePointPages(deps, user);
        await sendList(res, { shape: "array", read, limit: query.limit, cursor: query.cursor });
      },
    }),
    route({
      method: "get",
      path: "/:dataset",
      allow: { permission: "can_read", dataset: "dataset" },
      summary: "The caller's atlas points in a dataset, keyed x_y_z",
      params: datasetParams,
      query: listQuery,
      response: atlasByLocationSchema,
      async handler(ctx) {
        const { res, deps, user, params, query } = ctx;
        const read = ownPointPages(deps, user, params.dataset);
        await sendList(res, { shape: "object", read, limit: query.limit, cursor: query.cursor });
      },
    }),
    route({
      method: "post",
      path: "/:dataset",
      allow: { permission: "can_write_own", dataset: "dataset" },
      alsoPut: true,
      summary: "Create or replace the atlas point of `user` at a location",
      description:
        "The body needs `title` and `user`; other fields are kept. Writing for another user, setting " +
        "`verified` and editing a verified point need clio_write. Returns the stored point.",
      params: datasetParams,
      query: locationQuery,
      body: atlasBodySchema,
      response: atlasPointSchema,
      handler: (ctx) =>
        upsertPoint(ctx.deps, ctx.user, (p, d) => ctx.can(p, d), ctx.params.dataset, ctx.query, ctx.body),
    }),
    route({
      method: "delete",
      path: "/:dataset",
      allow: { permission: "can_write_own", dataset: "dataset" },
      summary: "Delete the caller's atlas point at a location",
      params: datasetParams,
      query: locationQuery,
      response: z.null(),
      async handler(ctx) {
        const { deps, user, params, query } = ctx;
        await deletePoint(deps, user, params.dataset, query);
        return null;
      },
    }),
  ],
});

export const atlasVerifyApi = defineGroup({
  name: "atlasverify",
  mounts: ["/v2/atlas-verify"],
  routes: [
    route({
      method: "post",
      path: "/:id",
      allow: "signedIn",
      alsoPut: true,
      summary: "Toggle an atlas point's verification (clio_write)",
      description:
        "Records who toggled it and when in `verified_by`/`verified_at`; the point's `timestamp` is kept.",
      params: atlasIdParams,
      response: atlasPointSchema,
      handler: (ctx) =>
        toggleVerified(
          ctx.deps,
          ctx.user,
          (p, d) => ctx.can(p, d),
          ctx.params.id,
          (before, after) => auditDigests(ctx.res, before, after),
        ),
    }),
  ],
});
