/** `/v2/server`: token exchange and revocation, cache refresh. */
import { z } from "zod";
import { forbidden } from "../errors.js";
import { defineGroup, route } from "../http/route.js";
import { email } from "../schemas/common.js";

export const serverApi = defineGroup({
  name: "server",
  mounts: ["/v2/server"],
  routes: [
    route({
      method: "post",
      path: "/token",
      allow: "signedIn",
      summary: "Exchange a Google, Firebase or API token for an API token",
      description:
        "Answers a JSON string holding an HS256 JWT with email, iat, exp, iss and the caller's Google profile claims, " +
        "as clio-store's FlyEM token. Send it as `Authorization: Bearer` on every call.",
      response: z.string(),
      handler: ({ deps, principal }) => deps.verifier.issue(principal!),
    }),
    route({
      method: "post",
      path: "/revoke",
      allow: "signedIn",
      summary: "Invalidate every API token issued so far to the caller (or, for admins, to `email`)",
      body: z.strictObject({ email: email.optional() }).optional(),
      response: z.object({ email: z.string(), generation: z.number() }),
      async handler({ deps, user, body, can }) {
        const target = body?.email ?? user.email;
        if (target !== user.email && !(await can("is_admin")))
          throw forbidden("Only admins can revoke other users' tokens");
        const generation = await deps.tokenState.revoke(target, user.email, deps.now());
        deps.log.info("tokens revoked", { email: target, by: user.email });
        return { email: target, generation };
      },
    }),
    route({
      method: "post",
      path: "/refresh-caches",
      allow: "admin",
      summary: "Drop this instance's caches of users, datasets and revocations",
      response: z.null(),
      handler({ deps }) {
        deps.users.invalidate();
        deps.datasets.invalidate();
        deps.verifier.forget();
        deps.tokenState.forget();
        return Promise.resolve(null);
      },
    }),
  ],
});
