/**
 * Route tables. An API group is a list of routes, each declaring its method, path, who may call
 * it, and the zod schemas of its params, query, body and response. The same table drives the
 * express router (authentication, parsing and the route's permission are enforced before the
 * handler runs) and the OpenAPI document.
 */
import type { Request, Response } from "express";
import type { z } from "zod";
import type { Caller } from "../auth/caller.js";
import type { Permission } from "../auth/permissions.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import type { Root } from "../services/root.js";
import type { RateClass } from "./ratelimit.js";

export type Method = "get" | "post" | "put" | "delete" | "head" | "patch";

/** Where a route finds the dataset its permission is about. */
export interface DatasetRef {
  /** The field's name, e.g. "dataset". */
  dataset: string;
  /** Which parsed input holds it (default: the path params). */
  from?: "params" | "query" | "body";
}

/**
 * Who may call a route. Data-dependent rules (whose annotation, which dataset fields) are
 * decided in services and listed in `auth/permissions.ts`; this is the gate in front of them.
 */
export type Allow =
  /** No credential needed; one that is sent is still verified (a bad one is a 401). */
  | "anyone"
  /** Any enabled user with a valid credential. */
  | "signedIn"
  /** Global admins. */
  | "admin"
  /** A permission of the ladder on the dataset the request names. */
  | (DatasetRef & { permission: Exclude<Permission, "is_admin"> })
  /** clio's `has_role(role, dataset)`; the role may be a setting (e.g. TRANSFER_ROLE). */
  | (DatasetRef & { role: string | ((config: Config) => string) });

export interface Ctx<P = unknown, Q = unknown, B = unknown> extends Caller {
  req: Request;
  res: Response;
  params: P;
  query: Q;
  body: B;
  /** The instance's composition root. */
  deps: Root;
  log: Logger;
}

export interface RouteDef<P = unknown, Q = unknown, B = unknown, R extends z.ZodType = z.ZodType> {
  method: Method;
  /** Express path below the group's mount point, e.g. "/:dataset". */
  path: string;
  summary: string;
  description?: string;
  allow: Allow;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** The JSON response; handlers must return its input type, and tests parse every answer. */
  response?: R;
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
  handler(ctx: Ctx<P, Q, B>): Promise<z.input<R> | undefined | void>;
}

/** A mutation's audit action and the datasets whose change feed it joins (default: `:dataset`). */
export interface AuditDecl {
  action: string;
  datasets?: (params: Record<string, string>, body: unknown, result: unknown) => string[];
}

/** Declares one route; the generic parameters are inferred from the schemas. */
export function route<
  P = Record<string, never>,
  Q = Record<string, never>,
  B = undefined,
  R extends z.ZodType = z.ZodUndefined,
>(def: RouteDef<P, Q, B, R>): RouteDef {
  // The table erases the types; `handle` parses inputs with the same schemas before calling.
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

/** The declared permission in words, for the OpenAPI document and error messages. */
export function describeAllow(allow: Allow): string {
  if (allow === "anyone") return "anyone, signed in or not";
  if (allow === "signedIn") return "any signed-in user";
  if (allow === "admin") return "global admins";
  const where = `the ${allow.dataset} named in the ${allow.from ?? "path"}`;
  if ("permission" in allow) return `${allow.permission} on ${where}`;
  return `role ${typeof allow.role === "string" ? allow.role : "(set by a param)"} on ${where}`;
}
