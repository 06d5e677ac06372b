/** `/v2/roles`: the caller, as clio returns it. */
import { defineGroup, route } from "../http/route.js";
import { rolesResponseSchema } from "../schemas/users.js";

export const rolesApi = defineGroup({
  name: "roles",
  mounts: ["/v2/roles"],
  routes: [
    route({
      method: "get",
      path: "/",
      allow: "signedIn",
      summary: "The caller's user record: roles per dataset, global roles, groups",
      response: rolesResponseSchema,
      handler: ({ user, principal }) =>
        Promise.resolve({ ...user, google_idinfo: principal?.kind === "google" ? principal.claims : null }),
    }),
  ],
});
