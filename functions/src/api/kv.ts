/** `/v2/kv`: the caller's private key-value store; any signed-in user may use it. */
import { z } from "zod";
import { sendList } from "../http/paging.js";
import { defineGroup, route } from "../http/route.js";
import {
  kvBodySchema,
  kvKeyParams,
  kvListQuery,
  kvScopeParams,
  kvScopeResponseSchema,
  kvTimestampQuery,
  kvValueSchema,
} from "../schemas/kv.js";
import { deleteKv, kvScopePages, readKv, writeKv } from "../services/kv.js";

export const kvApi = defineGroup({
  name: "kv",
  mounts: ["/v2/kv"],
  routes: [
    route({
      method: "get",
      path: "/:scope",
      allow: "signedIn",
      summary: "Every key of a scope, as {key: value}",
      description: "`_timestamp` is left out unless `timestamp=true`. Pageable.",
      params: kvScopeParams,
      query: kvListQuery,
      response: kvScopeResponseSchema,
      async handler({ res, deps, user, params, query }) {
        const read = kvScopePages(deps, user.email, params.scope, query.timestamp ?? false);
        await sendList(res, { shape: "object", read, limit: query.limit, cursor: query.cursor });
      },
    }),
    route({
      method: "get",
      path: "/:scope/:key",
      allow: "signedIn",
      summary: "One value (404 when missing)",
      params: kvKeyParams,
      query: kvTimestampQuery,
      response: kvValueSchema,
      handler: ({ deps, user, params, query }) =>
        readKv(deps, user.email, params.scope, params.key, query.timestamp ?? false),
    }),
    route({
      method: "post",
      path: "/:scope/:key",
      allow: "signedIn",
      alsoPut: true,
      summary: "Store a JSON object under a key, stamped with `_timestamp`",
      description: "413 when the value does not fit in one Firestore document (1 MiB).",
      params: kvKeyParams,
      body: kvBodySchema,
      response: z.null(),
      async handler({ deps, user, params, body }) {
        await writeKv(deps, user.email, params.scope, params.key, body);
        return null;
      },
    }),
    route({
      method: "delete",
      path: "/:scope/:key",
      allow: "signedIn",
      summary: "Delete a key (idempotent)",
      params: kvKeyParams,
      response: z.null(),
      async handler({ deps, user, params }) {
        await deleteKv(deps, user.email, params.scope, params.key);
        return null;
      },
    }),
  ],
});
