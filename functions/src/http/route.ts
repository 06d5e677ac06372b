/**
 * Route tables. An API group is a list of routes, each declaring its method, path, auth, and the
 * zod schemas of its params, query, body and response. The same table drives the express router
 * (parsing and auth happen before the handler runs) and the OpenAPI document.
 */
import type { Request, Response } from "express";
import type { z } from "zod";
import { allows, hasRole, type Permission } from "../auth/permissions.js";
import { forbidden } from "../errors.js";
import type { Logger } from "../log.js";
import type { Principal } from "../auth/tokens.js";
import type { User } from "../schemas/users.js";
import type { Deps } from "../services/deps.js";
import type { RateClass } from "./ratelimit.js";

export type Method = "get" | "post" | "put" | "delete" | "head" | "patch";

export interface Ctx<P = unknown, Q = unknown, B = unknown> {
  req: Request;
  res: Response;
  params: P;
  query: Q;
  body: B;
  deps: Deps;
  /** The caller; for `auth: "none"` routes an anonymous user with no roles. */
  user: User;
  principal: Principal | undefined;
  log: Logger;
  /** Throws 403 unless the caller holds `permission` on `dataset`. */
  require: (permission: Permission, dataset?: string) => Promise<void>;
  /** Whether the caller holds `permission` on `dataset`. */
  can: (permission: Permission, dataset?: string) => Promise<boolean>;
  /** Throws 403 unless the caller has clio's `has_role(role, dataset)` (public datasets count). */
  requireRole: (role: string, dataset: string) => Promise<void>;
}

export interface RouteDef<P = unknown, Q = unknown, B = unknown> {
  method: Method;
  /** Express path below the group's mount point, e.g. "/:dataset". */
  path: string;
  summary: string;
  description?: string;
  /** "user" (default): a valid bearer token of an enabled user is required. */
  auth?: "user" | "none";
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** The JSON response, for the docs. */
  response?: z.ZodType;
  /** Also answer PUT with the same handler (clio accepts both on writes). */
  alsoPut?: boolean;
  /** Rate-limit class (http/ratelimit.ts); default by method, or http/policy.ts's table. */
  rateClass?: RateClass;
  /** Record an audit entry after success (http/guard.ts); or listed in http/policy.ts. */
  audit?: AuditDecl;
  /**
   * Resolves to the JSON body to send (null is sent as JSON null); resolve undefined after
   * writing the response yourself (streams, redirects).
   */
  handler(ctx: Ctx<P, Q, B>): Promise<unknown>;
}

/** A mutation's audit action and the datasets whose change feed it joins (default: `:dataset`). */
export interface AuditDecl {
  action: string;
  datasets?: (params: Record<string, string>, body: unknown, result: unknown) => string[];
}

/** Declares one route; the generic parameters are inferred from the schemas. */
export function route<P = Record<string, never>, Q = Record<string, never>, B = undefined>(
  def: RouteDef<P, Q, B>,
): RouteDef {
  return def as unknown as RouteDef;
}

export interface ApiGroup {
  /** The function name; unique after lower-casing. */
  name: string;
  /** Paths the group answers under, e.g. ["/v2/datasets"]. */
  mounts: string[];
  routes: RouteDef[];
}

export function defineGroup(group: ApiGroup): ApiGroup {
  return group;
}

export function makeCtxHelpers(deps: Deps, user: User): Pick<Ctx, "require" | "can" | "requireRole"> {
  const can = async (permission: Permission, dataset?: string) =>
    allows(user, permission, dataset, dataset !== undefined && (await deps.datasets.isPublic(dataset)));
  return {
    can,
    requireRole: async (role, dataset) => {
      if (!hasRole(user, role, dataset, await deps.datasets.isPublic(dataset))) {
        throw forbidden(`${user.email || "anonymous"} lacks ${role} on dataset ${dataset}`);
      }
    },
    require: async (permission, dataset) => {
      if (!(await can(permission, dataset))) {
        throw forbidden(
          dataset === undefined
            ? `${user.email || "anonymous"} lacks ${permission}`
            : `${user.email || "anonymous"} lacks ${permission} on dataset ${dataset}`,
        );
      }
    },
  };
}
