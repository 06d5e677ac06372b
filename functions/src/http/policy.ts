/**
 * The rate class and audit action of the routes that existed before issue 12, in one table so
 * the route files stay untouched while their owners convert them; a route may instead declare
 * `rateClass` / `audit` itself (route.ts), which wins. Unlisted routes: GET and HEAD are "read",
 * every other method "write", and no audit entry (every listed mutation is checked by
 * functions/test/audit/).
 */
import type { RateClass } from "./ratelimit.js";
import type { AuditDecl, RouteDef } from "./route.js";

interface Policy {
  rateClass?: RateClass;
  audit?: AuditDecl;
}

const list = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
const paramDataset = (p: Record<string, string>) => (p.dataset ? [p.dataset] : []);

/** `group METHOD path` → policy. */
export const ROUTE_POLICY: Record<string, Policy> = {
  // Costly: one request triggers much upstream or billed work (security review M3).
  "transfer POST /": {
    rateClass: "costly",
    audit: {
      action: "transfer.run",
      datasets: (_p, body) => list([(body as { dataset?: unknown } | undefined)?.dataset]),
    },
  },
  "signatures GET /likelocation/:dataset": { rateClass: "costly" },
  "files POST /:dataset/sign": { rateClass: "costly" },
  "catalog POST /download": { rateClass: "costly" },
  "neuprint POST /:dataset": { rateClass: "costly" },
  // Mutations.
  "users POST /": { audit: { action: "users.write" } },
  "users DELETE /": { audit: { action: "users.delete" } },
  "datasets POST /": {
    audit: { action: "datasets.write", datasets: (_p, body) => Object.keys(body ?? {}) },
  },
  "datasets DELETE /": { audit: { action: "datasets.delete", datasets: (_p, body) => list(body) } },
  "annotations POST /:dataset": { audit: { action: "annotations.write" } },
  "annotations DELETE /:dataset/:key": { audit: { action: "annotations.delete" } },
  "annotationsv1 POST /:dataset": { audit: { action: "json-annotations.write" } },
  "annotationsv1 DELETE /:dataset": { audit: { action: "json-annotations.delete" } },
  "atlas POST /:dataset": { audit: { action: "atlas.write" } },
  "atlas DELETE /:dataset": { audit: { action: "atlas.delete" } },
  "atlasverify POST /:id": {
    audit: {
      action: "atlas.verify",
      datasets: (_p, _b, result) => list([(result as { dataset?: unknown } | undefined)?.dataset]),
    },
  },
  "savedsearches POST /:dataset": { audit: { action: "savedsearches.write" } },
  "savedsearches DELETE /:dataset": { audit: { action: "savedsearches.delete" } },
  "kv POST /:scope/:key": { audit: { action: "kv.write" } },
  "kv DELETE /:scope/:key": { audit: { action: "kv.delete" } },
  "pullrequest POST /": { audit: { action: "pull-request.create" } },
  "sitereports POST /": { audit: { action: "site-reports.create" } },
  "files POST /:dataset/uploads": { audit: { action: "files.upload-url" } },
  "server POST /revoke": { audit: { action: "tokens.revoke" } },
  "catalogadmin POST /index": { audit: { action: "harvest.rebuild-index" } },
  "catalogadmin POST /harvest/:source": { audit: { action: "harvest.control" } },
};

export interface ResolvedPolicy {
  rateClass: RateClass;
  audit: Required<AuditDecl> | undefined;
}

export function policyOf(group: string, def: RouteDef): ResolvedPolicy {
  const listed = ROUTE_POLICY[`${group} ${def.method.toUpperCase()} ${def.path}`] ?? {};
  const rateClass =
    def.rateClass ?? listed.rateClass ?? (def.method === "get" || def.method === "head" ? "read" : "write");
  const audit = def.audit ?? listed.audit;
  return {
    rateClass,
    audit: audit && { action: audit.action, datasets: audit.datasets ?? ((p) => paramDataset(p)) },
  };
}
