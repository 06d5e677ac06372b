/** `/v2/keys`: scoped, expiring, revocable API keys and short-lived viewer tokens (issue 12). */
import { z } from "zod";
import { SCOPE_ROLES } from "../auth/scope.js";
import { auditDigests } from "../http/guard.js";
import { defineGroup, route, type Ctx } from "../http/route.js";
import { datasetId } from "../schemas/common.js";
import {
  DEFAULT_KEY_DAYS,
  listKeys,
  MAX_KEY_DAYS,
  MAX_VIEWER_SECONDS,
  mintKey,
  mintViewerToken,
  revokeKey,
  type KeyDeps,
} from "../services/keys.js";
import { KeyStore } from "../store/keys.js";

const keyView = z.object({
  id: z.string(),
  kind: z.enum(["key", "viewer"]),
  name: z.string(),
  datasets: z.array(z.string()),
  role: z.enum(SCOPE_ROLES),
  created: z.string(),
  expires: z.string(),
  lastUsed: z.string().nullable(),
  revoked: z.string().nullable(),
});
const minted = keyView.extend({ key: z.string() });

const mintBody = z.strictObject({
  name: z.string().min(1).max(100),
  datasets: z.array(datasetId).min(1).max(50),
  role: z.enum(SCOPE_ROLES).default("clio_read"),
  expiresInDays: z.number().int().min(1).max(MAX_KEY_DAYS).optional(),
});
const viewerBody = z.strictObject({
  dataset: datasetId,
  expiresInSeconds: z.number().int().min(60).max(MAX_VIEWER_SECONDS).optional(),
});
const idParams = z.object({ id: z.string().regex(/^[0-9a-f]{24}$/, { error: "key ids are 24 hex digits" }) });

/** Mint/list/revoke read Firestore directly; only the request path caches keys (http/guard.ts). */
function keyDeps({ deps }: Ctx): KeyDeps {
  return {
    keys: new KeyStore(deps.db, 0, () => deps.now().getTime()),
    now: deps.now,
    isPublic: (d) => deps.datasets.isPublic(d),
  };
}

export const keysApi = defineGroup({
  name: "keys",
  mounts: ["/v2/keys"],
  routes: [
    route({
      method: "post",
      path: "/",
      allow: "signedIn",
      summary: "Mint an API key limited to datasets and a role no higher than your own",
      description:
        `Expires after \`expiresInDays\` (default ${DEFAULT_KEY_DAYS}, at most ${MAX_KEY_DAYS}). The key is ` +
        "answered once and stored only hashed. Send it as `Authorization: Bearer nfk_…`.",
      body: mintBody,
      response: minted,
      audit: { action: "keys.create", datasets: (_p, body) => (body as { datasets: string[] }).datasets },
      async handler(ctx) {
        ctx.res.status(201);
        return mintKey(keyDeps(ctx), ctx.user, ctx.principal, ctx.body);
      },
    }),
    route({
      method: "post",
      path: "/viewer",
      // The dataset is in the body; the service checks can_read on it (and refuses keys).
      allow: "signedIn",
      summary: "Mint a read-only viewer token for one dataset (at most 1 h) to hand to a third-party viewer",
      body: viewerBody,
      response: minted,
      audit: {
        action: "viewer-tokens.create",
        datasets: (_p, body) => [(body as { dataset: string }).dataset],
      },
      async handler(ctx) {
        ctx.res.status(201);
        return mintViewerToken(keyDeps(ctx), ctx.user, ctx.principal, ctx.body);
      },
    }),
    route({
      method: "get",
      path: "/",
      allow: "signedIn",
      summary: "Your keys and viewer tokens, with expiry, last use and revocation",
      response: z.array(keyView),
      handler: (ctx) => listKeys(keyDeps(ctx), ctx.user),
    }),
    route({
      method: "delete",
      path: "/:id",
      allow: "signedIn",
      summary: "Revoke a key (yours; admins: anyone's). Every instance refuses it within 60 s.",
      params: idParams,
      response: keyView,
      audit: {
        action: "keys.revoke",
        datasets: (_p, _b, result) => (result as { datasets: string[] }).datasets,
      },
      async handler(ctx) {
        const { before, after } = await revokeKey(keyDeps(ctx), ctx.user, ctx.principal, ctx.params.id);
        auditDigests(ctx.res, before, after);
        return after;
      },
    }),
  ],
});
