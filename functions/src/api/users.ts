/** `/v2/users`: user administration for global admins. */
import { z } from "zod";
import { sendList } from "../http/paging.js";
import { pageQueryShape } from "../schemas/common.js";
import { defineGroup, route } from "../http/route.js";
import { userSchema, usersDeleteBodySchema, usersUpdateBodySchema } from "../schemas/users.js";
import { deleteUsers, updateUsers, userPages } from "../services/users.js";

export const usersApi = defineGroup({
  name: "users",
  mounts: ["/v2/users"],
  routes: [
    route({
      method: "get",
      path: "/",
      allow: "admin",
      summary: "Every user, by email (admins). Pageable.",
      query: z.strictObject(pageQueryShape),
      response: z.record(z.string(), userSchema),
      async handler({ res, deps, query }) {
        await sendList(res, {
          shape: "object",
          read: userPages(deps),
          limit: query.limit,
          cursor: query.cursor,
        });
      },
    }),
    route({
      method: "post",
      path: "/",
      allow: "admin",
      alsoPut: true,
      summary: "Set users' roles and, when sent, groups, name, org and disabled",
      description:
        "Body `{email: {global_roles, datasets, groups?, name?, org?, disabled?}}`. Fields not sent are kept.",
      body: usersUpdateBodySchema,
      response: z.null(),
      async handler({ deps, body }) {
        await updateUsers(deps, body);
        return null;
      },
    }),
    route({
      method: "delete",
      path: "/",
      allow: "admin",
      summary: "Delete users",
      body: usersDeleteBodySchema,
      response: z.null(),
      async handler({ deps, body }) {
        await deleteUsers(deps, body);
        return null;
      },
    }),
  ],
});
