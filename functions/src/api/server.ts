/** `/v2/server`: token exchange and revocation, cache refresh. */
import { z } from "zod";
import { forbidden } from "../errors.js";
import { defineGroup, route } from "../http/route.js";
import { email } from "../schemas/common.js";
import { LIVE_SESSION_SECONDS, mintLiveToken } from "../services/live.js";

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
      path: "/firebase-token",
      allow: "signedIn",
      // Reading only: a read-only key may sign in a listener (the rules keep it read-only anyway).
      rateClass: "read",
      summary: "Exchange any accepted credential for a Firebase custom token, to listen to Firestore",
      description:
        "For browsers that listen to Firestore directly (docs/live-updates.md): sign in with " +
        "`signInWithCustomToken`; firestore.rules then let the session read, and only read, what the " +
        "caller may read here. The session ends at `expiresAt` (at most " +
        `${LIVE_SESSION_SECONDS / 60} minutes, never past the credential's own expiry), when its API key ` +
        "is revoked, or at `POST /v2/server/revoke`; ask again for a new one.",
      body: z.strictObject({}).optional(),
      response: z.object({
        token: z.string(),
        uid: z.string(),
        email: z.string(),
        expiresAt: z.number().int(),
      }),
      handler: ({ deps, principal, user }) => mintLiveToken(deps, principal!, user),
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
