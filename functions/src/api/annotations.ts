/** `/v2/annotations`: personal point, line-segment and sphere annotations (clio's v2 API). */
import { z } from "zod";
import { badRequest } from "../errors.js";
import { sendList } from "../http/paging.js";
import { pageQueryShape } from "../schemas/common.js";
import { defineGroup, route } from "../http/route.js";
import {
  annotationDeleteParams,
  annotationDeleteQuery,
  annotationOutSchema,
  annotationsGetQuery,
  annotationsParams,
  annotationsPostBodySchema,
  annotationsPostQuery,
  keyResponseSchema,
  keysResponseSchema,
} from "../schemas/annotations.js";
import {
  annotationPages,
  deleteAnnotation,
  readableOwners,
  STREAM_READ_AHEAD,
  writeAnnotations,
} from "../services/annotations.js";

export const annotationsApi = defineGroup({
  name: "annotations",
  mounts: ["/v2/annotations"],
  routes: [
    route({
      method: "get",
      path: "/:dataset",
      allow: { permission: "can_read", dataset: "dataset" },
      summary: "The caller's annotations in a dataset, with those of their groups' members",
      description:
        "A list of `{user, key, kind, pos, prop?, tags?, title?, description?}`. `groups=a,b` adds the members " +
        "of those groups (the caller's own groups; admins any); `user=email` reads another user's (admins). Pageable.",
      params: annotationsParams,
      query: annotationsGetQuery.extend(pageQueryShape),
      response: z.array(annotationOutSchema),
      async handler(ctx) {
        const { deps, params, query } = ctx;
        const owners = await readableOwners(deps, ctx, query);
        const streamed = query.limit === undefined && query.cursor === undefined;
        await sendList(ctx.res, {
          shape: "array",
          read: annotationPages(deps.db, params.dataset, owners, streamed ? STREAM_READ_AHEAD : undefined),
          limit: query.limit,
          cursor: query.cursor,
        });
      },
    }),
    route({
      method: "post",
      path: "/:dataset",
      allow: { permission: "can_write_own", dataset: "dataset" },
      alsoPut: true,
      summary: "Write one annotation or a list",
      description:
        "One annotation answers `{key}`, a list `{keys}` in the order posted; a list is written all or nothing. " +
        "`replace=false` merges into the stored annotation, and `conditional=f1,f2` then writes those fields only " +
        "where the stored value is missing or empty. `move_key=oldkey` (one annotation) deletes the old key. " +
        "Writing another user's annotation (its `user`) needs clio_write.",
      params: annotationsParams,
      query: annotationsPostQuery,
      body: annotationsPostBodySchema,
      response: z.union([keyResponseSchema, keysResponseSchema]),
      async handler(ctx) {
        const { deps, params, query, body } = ctx;
        // clio ignored move_key on lists; refusing says so instead of silently keeping the old key.
        if (Array.isArray(body) && query.move_key !== undefined)
          throw badRequest("move_key applies to a single annotation, not a list");
        const list = Array.isArray(body) ? body : [body];
        const keys = await writeAnnotations(deps, ctx, params.dataset, list, {
          replace: query.replace ?? true,
          conditional: query.conditional ?? [],
          moveKey: query.move_key,
        });
        if (Array.isArray(body)) return { keys };
        const [key] = keys;
        if (key === undefined) throw new Error("a single annotation was written without a key");
        return { key };
      },
    }),
    route({
      method: "delete",
      path: "/:dataset/:key",
      allow: { permission: "can_write_own", dataset: "dataset" },
      summary: "Delete one annotation",
      description:
        "The caller's, or with `user_email` another user's (clio_write). Idempotent; answers null.",
      params: annotationDeleteParams,
      query: annotationDeleteQuery,
      response: z.null(),
      async handler(ctx) {
        await deleteAnnotation(ctx.deps, ctx, ctx.params.dataset, ctx.params.key, ctx.query.user_email);
        return null;
      },
    }),
  ],
});
