/**
 * The per-instance security layer of an app (issue 12), built once by createApp:
 *
 * - authenticate: resolves a bearer token (API/Google/Firebase token, API key, viewer token) to
 *   the caller, clamping the User to a key's scope so every permission check honours it;
 * - admit: refuses writes to read-only keys, then applies the rate limits of the route's class;
 * - record: appends the audit entry of a successful mutation.
 */
import { createHash } from "node:crypto";
import type { Request, Response } from "express";
import { applyScope, isKeyToken, KeyVerifier } from "../auth/keys.js";
import { isReadOnly } from "../auth/scope.js";
import type { Principal } from "../auth/tokens.js";
import { forbidden } from "../errors.js";
import type { User } from "../schemas/users.js";
import { provide, type Root } from "../services/root.js";
import { AuditStore } from "../store/audit.js";
import { KeyStore } from "../store/keys.js";
import { QuotaStore } from "../store/quota.js";
import { policyOf, type ResolvedPolicy } from "./policy.js";
import { RateLimiter } from "./ratelimit.js";
import type { RouteDef } from "./route.js";

/** What a handler may leave in `res.locals.audit` for its entry (see `auditDigests`). */
interface AuditNote {
  before?: string | null;
  after?: string | null;
}

/** SHA-256 of a value's JSON, for before/after digests (null for undefined). */
export function digest(value: unknown): string | null {
  if (value === undefined) return null;
  return createHash("sha256")
    .update(JSON.stringify(value) ?? "null")
    .digest("hex");
}

/** Lets a handler that knows the state before and after its change put both digests in the entry. */
export function auditDigests(res: Response, before: unknown, after: unknown): void {
  res.locals.audit = { before: digest(before), after: digest(after) } satisfies AuditNote;
}

export interface Guard {
  keys: KeyStore;
  audit: AuditStore;
  policy(group: string, def: RouteDef): ResolvedPolicy;
  authenticate(token: string): Promise<{ principal: Principal; user: User }>;
  admit(
    policy: ResolvedPolicy,
    principal: Principal | undefined,
    user: User,
    req: Request,
    res: Response,
  ): Promise<void>;
  record(
    policy: ResolvedPolicy,
    call: {
      req: Request;
      res: Response;
      principal: Principal | undefined;
      user: User;
      params: unknown;
      body: unknown;
      result: unknown;
    },
  ): Promise<void>;
}

/** The instance's guard: its key cache, buckets and audit batching serve every function in it. */
export const guardProvider = provide("guard", (root) => createGuard(root));

export function createGuard(deps: Pick<Root, "db" | "config" | "now" | "log" | "users" | "verifier">): Guard {
  const ms = () => deps.now().getTime();
  const keys = new KeyStore(deps.db, deps.config.keyCacheSeconds * 1000, ms);
  const keyVerifier = new KeyVerifier(keys, ms);
  const limiter = new RateLimiter(deps.config.rateLimits, new QuotaStore(deps.db), ms);
  const audit = new AuditStore(deps.db);
  const policies = new Map<RouteDef, ResolvedPolicy>();
  return {
    keys,
    audit,
    policy(group, def) {
      let p = policies.get(def);
      if (!p) policies.set(def, (p = policyOf(group, def)));
      return p;
    },
    async authenticate(token) {
      const principal = isKeyToken(token)
        ? await keyVerifier.verify(token)
        : await deps.verifier.verify(token);
      const user = applyScope(await deps.users.get(principal.email), principal.scope);
      return { principal, user };
    },
    async admit(policy, principal, user, req, res) {
      if (principal?.scope && isReadOnly(principal.scope) && (policy.rateClass === "write" || policy.audit))
        throw forbidden("This key is read-only");
      // Anonymous and unknown signed-in callers (any Google account, no roles) share the lower
      // "anonymous" limit; the latter are still counted per email.
      const anonymous =
        !principal || (user.global_roles.length === 0 && Object.keys(user.datasets).length === 0);
      await limiter.take(principal ? user.email : `ip:${req.ip ?? "?"}`, anonymous, policy.rateClass, res);
    },
    async record(policy, { req, res, principal, user, params, body, result }) {
      if (!policy.audit || res.statusCode >= 400) return;
      const p = (params ?? {}) as Record<string, string>;
      const note = (res.locals.audit ?? {}) as AuditNote;
      try {
        await audit.append({
          at: deps.now().toISOString(),
          actor: user.email,
          keyId: principal?.keyId ?? null,
          tokenKind: principal?.kind ?? null,
          action: policy.audit.action,
          method: req.method,
          path: req.originalUrl.split("?")[0] ?? "",
          target: Object.fromEntries(Object.entries(p).map(([k, v]) => [k, String(v)])),
          datasets: [...new Set(policy.audit.datasets(p, body, result))].slice(0, 100),
          status: res.statusCode,
          before: note.before ?? null,
          // A mutation without a body (a toggle, a rebuild) is described by what it answered.
          after: note.after !== undefined ? note.after : digest(body !== undefined ? body : result),
          requestId: req.requestId ?? null,
        });
      } catch (err) {
        // The change is made; failing the request now would invite a retry of a done write.
        deps.log.error("audit entry not written", {
          requestId: req.requestId,
          action: policy.audit.action,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    },
  };
}
