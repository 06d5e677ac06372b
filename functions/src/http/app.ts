/**
 * The express app factory every API group uses: request ids and access logs, CORS, body parsing
 * with a size limit, URL_PREFIX, auth and zod parsing before any handler runs, and the single
 * error handler that turns every failure into `{detail, code, issues?}`.
 */
import { randomUUID } from "node:crypto";
import express, { type NextFunction, type Request, type Response } from "express";
import type { z } from "zod";
import { bearerToken, type Principal } from "../auth/tokens.js";
import { ApiError, badRequest, forbidden, toIssues, unauthenticated } from "../errors.js";
import { withFields } from "../log.js";
import type { User } from "../schemas/users.js";
import { cors } from "./cors.js";
import type { Deps } from "../services/deps.js";
import { makeCtxHelpers, type ApiGroup, type RouteDef } from "./route.js";

const ANONYMOUS: User = {
  email: "",
  name: null,
  org: null,
  disabled: false,
  global_roles: [],
  datasets: {},
  groups: [],
};

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

function handle(def: RouteDef, deps: Deps) {
  return async (req: Request, res: Response) => {
    let user = ANONYMOUS;
    let principal: Principal | undefined;
    if (def.auth !== "none") {
      const token = bearerToken(req.headers.authorization);
      if (!token) throw unauthenticated();
      principal = await deps.verifier.verify(token);
      user = await deps.users.get(principal.email);
      if (user.disabled) throw forbidden("Inactive user");
      res.locals.user = user.email;
    }
    const params = parse(def.params, req.params, "path");
    const query = parse(def.query, req.query, "query");
    const body = parse(def.body, req.body, "body");
    res.locals.listMaxBytes = deps.config.listMaxBytes; // security M1: byte budget of lists (http/paging.ts)
    const log = withFields(deps.log, { requestId: req.requestId });
    const result = await def.handler({
      req,
      res,
      params,
      query,
      body,
      deps,
      user,
      principal,
      log,
      ...makeCtxHelpers(deps, user),
    });
    if (res.headersSent) return;
    if (result !== undefined) res.json(result);
    else res.status(204).end();
  };
}

/** Parses JSON (also when sent as text/plain) unless the Functions runtime already did. */
function jsonBody(maxBytes: number) {
  const parser = express.json({
    limit: maxBytes,
    type: ["application/json", "application/*+json", "text/plain"],
    strict: false,
  });
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.rawBody !== undefined) {
      if (req.rawBody.length > maxBytes)
        return next(new ApiError("payload_too_large", `Request bodies are limited to ${maxBytes} bytes`));
      if (typeof req.body === "string" && req.is("text/plain")) {
        try {
          req.body = req.body.length > 0 ? (JSON.parse(req.body) as unknown) : undefined;
        } catch {
          return next(badRequest("The request body is not valid JSON"));
        }
      }
      return next();
    }
    parser(req, res, next);
  };
}

function errorHandler(deps: Deps) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let error: ApiError;
    if (err instanceof ApiError) error = err;
    else if (isBodyParserError(err)) {
      error =
        err.type === "entity.too.large"
          ? new ApiError(
              "payload_too_large",
              `Request bodies are limited to ${deps.config.maxBodyBytes} bytes`,
            )
          : err.type === "entity.parse.failed"
            ? badRequest("The request body is not valid JSON")
            : badRequest(`The request body could not be read (${err.type})`);
    } else {
      error = new ApiError("internal", `Internal error (request ${req.requestId ?? "?"})`, undefined, {
        cause: err,
      });
    }
    if (error.status >= 500) {
      deps.log.error("request failed", {
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
export function createApp(groups: ApiGroup | ApiGroup[], deps: Deps): express.Express {
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
      deps.log.info("request", {
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
  app.use(cors(deps.config.allowedOrigins));
  app.use(jsonBody(deps.config.maxBodyBytes));

  const prefix = deps.config.urlPrefix;
  app.get(`${prefix}/healthz`, (_req, res) => {
    res.json({ ok: true });
  });
  for (const group of Array.isArray(groups) ? groups : [groups]) {
    const router = express.Router({ strict: false, mergeParams: true });
    for (const def of group.routes) {
      const handler = handle(def, deps);
      router[def.method](def.path, handler);
      if (def.alsoPut) router.put(def.path, handler);
    }
    for (const mount of group.mounts) app.use(`${prefix}${mount}`, router);
  }
  app.use((req, _res, next) => next(new ApiError("not_found", `No route for ${req.method} ${req.path}`)));
  app.use(errorHandler(deps));
  return app;
}
