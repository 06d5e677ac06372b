/**
 * The express app factory every API group uses: request ids and access logs, CORS, body parsing
 * with a size limit, URL_PREFIX, auth and zod parsing before any handler runs, and the single
 * error handler that turns every failure into `{detail, code, issues?}`.
 */
import { randomUUID } from "node:crypto";
import express, { type NextFunction, type Request, type Response } from "express";
import { ZodNever, ZodObject, ZodPipe, type z } from "zod";
import { ANONYMOUS, makeCaller, type Caller } from "../auth/caller.js";
import { bearerToken, type Principal } from "../auth/tokens.js";
import { ApiError, badRequest, forbidden, toIssues, unauthenticated } from "../errors.js";
import { withFields } from "../log.js";
import type { Root } from "../services/root.js";
import { cors } from "./cors.js";
import { guardProvider, type Guard } from "./guard.js";
import { type Allow, type ApiGroup, type RouteDef } from "./route.js";

export interface AppOptions {
  /**
   * Parse every JSON answer against its route's response schema and fail the request when it
   * drifts. Tests turn it on, so a drifted field fails a test instead of reaching a clio client.
   */
  checkResponses?: boolean;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

declare module "express-serve-static-core" {
  interface Request {
    /** Set by the Cloud Functions runtime, which parses bodies before express sees them. */
    rawBody?: Buffer;
    requestId?: string;
  }
}

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = toIssues(result.error);
  const first = issues[0];
  const at = first && first.path.length > 0 ? ` at ${first.path.join(".")}` : "";
  throw badRequest(`Invalid ${where}${at}: ${first?.message ?? "malformed"}`, issues);
}

/**
 * clio (FastAPI) ignored query keys it did not know, and clients rely on it (`app=natverse`,
 * `app=clio-py`, schlegelp's bare `?v0.9.3`): a strict query schema gets only its own keys.
 * Schemas that accept extra keys on purpose (catchall, e.g. catalog facets) get them all.
 */
function knownQueryKeys(schema: z.ZodType | undefined, query: unknown): unknown {
  let inner: z.ZodType | undefined = schema;
  while (inner instanceof ZodPipe) inner = inner.in as z.ZodType;
  if (!(inner instanceof ZodObject) || !(inner.def.catchall instanceof ZodNever)) return query;
  if (query === null || typeof query !== "object") return query;
  const keys = Object.keys(inner.shape);
  return Object.fromEntries(Object.entries(query).filter(([k]) => keys.includes(k)));
}

/** Who is calling: anonymous without a bearer token (where the route allows it), else verified. */
async function authenticate(
  req: Request,
  res: Response,
  root: Root,
  guard: Guard,
  allow: Allow,
): Promise<Caller> {
  const token = bearerToken(req.headers.authorization);
  let user = ANONYMOUS;
  let principal: Principal | undefined;
  if (token) {
    // issue 12: API keys and viewer tokens too; a key's scope clamps the user (http/guard.ts).
    ({ principal, user } = await guard.authenticate(token));
    if (user.disabled) throw forbidden("Inactive user");
    res.locals.user = user.email;
  } else if (allow !== "anyone") {
    throw unauthenticated();
  }
  return makeCaller(user, principal, (dataset) => root.datasets.isPublic(dataset));
}

/** Enforces the route's declared permission on the parsed request. */
async function authorize(
  allow: Allow,
  caller: Caller,
  root: Root,
  input: { params: unknown; query: unknown; body: unknown },
): Promise<void> {
  if (allow === "anyone" || allow === "signedIn") return;
  if (allow === "admin") return caller.require("is_admin");
  const holder = input[allow.from ?? "params"] as Record<string, unknown> | undefined;
  const dataset = holder?.[allow.dataset];
  if (typeof dataset !== "string") throw badRequest(`Missing ${allow.dataset}`);
  if ("permission" in allow) return caller.require(allow.permission, dataset);
  const role = typeof allow.role === "string" ? allow.role : allow.role(root.config);
  return caller.requireRole(role, dataset);
}

function handle(def: RouteDef, root: Root, options: AppOptions, guard: Guard, group: string) {
  const policy = guard.policy(group, def);
  return async (req: Request, res: Response) => {
    const caller = await authenticate(req, res, root, guard, def.allow);
    // issue 12: read-only keys refused writes; rate limits and quotas (http/guard.ts).
    await guard.admit(policy, caller.principal, caller.user, req, res);
    const params = parse(def.params, req.params, "path");
    // The gate runs as early as its input allows: before the query and body are even parsed,
    // unless the dataset it is about comes from one of them.
    const early = typeof def.allow === "string" || (def.allow.from ?? "params") === "params";
    if (early) await authorize(def.allow, caller, root, { params, query: undefined, body: undefined });
    const query = parse(def.query, knownQueryKeys(def.query, req.query), "query");
    const body = parse(def.body, req.body, "body");
    if (!early) await authorize(def.allow, caller, root, { params, query, body });
    res.locals.listMaxBytes = root.config.listMaxBytes; // security M1: byte budget of lists (http/paging.ts)
    const log = withFields(root.log, { requestId: req.requestId });
    const result = await def.handler({ ...caller, req, res, params, query, body, deps: root, log });
    await guard.record(policy, { req, res, ...caller, params, body, result });
    if (res.headersSent) return;
    if (result === undefined) {
      res.status(204).end();
      return;
    }
    if (options.checkResponses && def.response) {
      const checked = def.response.safeParse(result);
      if (!checked.success) {
        const issue = toIssues(checked.error)[0];
        throw new Error(
          `${def.method.toUpperCase()} ${def.path} answered outside its response schema` +
            (issue ? ` at ${issue.path.join(".")}: ${issue.message}` : ""),
        );
      }
    }
    res.json(result);
  };
}

/**
 * Parses JSON (also when sent as text/plain or with no Content-Type, as FastAPI did: malevnc and
 * Python `requests.post(data=str)` send none) unless the Functions runtime already did. The raw
 * bytes are kept in `req.rawBody`, as the runtime does, for routes that must parse them exactly.
 */
function jsonBody(maxBytes: number) {
  const parser = express.json({
    limit: maxBytes,
    type: (req) =>
      !req.headers["content-type"] ||
      Boolean((req as Request).is(["application/json", "application/*+json", "text/plain"])),
    strict: false,
    verify: (req, _res, buf) => {
      (req as Request).rawBody = buf;
    },
  });
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.rawBody !== undefined) {
      if (req.rawBody.length > maxBytes)
        return next(new ApiError("payload_too_large", `Request bodies are limited to ${maxBytes} bytes`));
      // The runtime parsed JSON bodies; text/plain and typeless ones are JSON here too.
      const text =
        typeof req.body === "string" && req.is("text/plain")
          ? req.body
          : !req.headers["content-type"] && req.rawBody.length > 0
            ? req.rawBody.toString("utf8")
            : undefined;
      if (text !== undefined) {
        try {
          req.body = text.length > 0 ? (JSON.parse(text) as unknown) : undefined;
        } catch {
          return next(badRequest("The request body is not valid JSON"));
        }
      }
      return next();
    }
    parser(req, res, next);
  };
}

function errorHandler(root: Root) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let error: ApiError;
    if (err instanceof ApiError) error = err;
    else if (isBodyParserError(err)) {
      error =
        err.type === "entity.too.large"
          ? new ApiError(
              "payload_too_large",
              `Request bodies are limited to ${root.config.maxBodyBytes} bytes`,
            )
          : err.type === "entity.parse.failed"
            ? badRequest("The request body is not valid JSON")
            : badRequest(`The request body could not be read (${err.type})`);
    } else if (err instanceof URIError) {
      // Express decodes path parameters while matching: `%E0%A4%A` is the client's mistake
      // (security review L12), not an internal error.
      error = badRequest("The path holds a malformed percent-escape (%XX)");
    } else {
      error = new ApiError("internal", `Internal error (request ${req.requestId ?? "?"})`, undefined, {
        cause: err,
      });
    }
    if (error.status >= 500) {
      root.log.error("request failed", {
        requestId: req.requestId,
        method: req.method,
        path: req.originalUrl.split("?")[0],
        code: error.code,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
    }
    // A streamed list that fails midway cannot change its status any more: cut it off so the
    // client sees a truncated (invalid) body rather than a silently short one.
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error.code === "unauthenticated") res.setHeader("WWW-Authenticate", "Bearer");
    res.status(error.status).json(error.toJSON());
  };
}

function isBodyParserError(err: unknown): err is { type: string } {
  return (
    typeof err === "object" &&
    err !== null &&
    typeof (err as { type?: unknown }).type === "string" &&
    "status" in err
  );
}

/** Builds the express app serving `groups`. */
export function createApp(
  groups: ApiGroup | ApiGroup[],
  root: Root,
  options: AppOptions = {},
): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("query parser", "simple");

  app.use((req, res, next) => {
    const incoming = req.get("x-request-id") ?? req.get("function-execution-id");
    req.requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader("X-Request-Id", req.requestId);
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      root.log.info("request", {
        requestId: req.requestId,
        method: req.method,
        path: req.originalUrl.split("?")[0],
        status: res.statusCode,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        user: (res.locals.user as string | undefined) ?? null,
      });
    });
    next();
  });
  app.use(cors(root.config.allowedOrigins));
  app.use(jsonBody(root.config.maxBodyBytes));

  const guard = root.get(guardProvider);
  const prefix = root.config.urlPrefix;
  app.get(`${prefix}/healthz`, (_req, res) => {
    res.json({ ok: true });
  });
  for (const group of Array.isArray(groups) ? groups : [groups]) {
    const router = express.Router({ strict: false, mergeParams: true });
    for (const def of group.routes) {
      const handler = handle(def, root, options, guard, group.name);
      router[def.method](def.path, handler);
      if (def.alsoPut) router.put(def.path, handler);
    }
    for (const mount of group.mounts) app.use(`${prefix}${mount}`, router);
  }
  app.use((req, _res, next) => next(new ApiError("not_found", `No route for ${req.method} ${req.path}`)));
  app.use(errorHandler(root));
  return app;
}
