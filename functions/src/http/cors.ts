/**
 * CORS for browser clients on other origins (Clio, Neuroglancer, h5wasm pages). An allowed
 * origin is reflected (with Vary: Origin) rather than clio-store's literal comma-separated list;
 * `*` allows any origin. No cookies are used, so credentials are never allowed.
 */
import type { NextFunction, Request, Response } from "express";

export const ALLOWED_METHODS = "GET, HEAD, POST, PUT, DELETE, OPTIONS";
export const ALLOWED_HEADERS = "Authorization, Content-Type, Range";
export const EXPOSED_HEADERS =
  "Content-Length, Content-Range, Accept-Ranges, ETag, X-Next-Cursor, X-Request-Id";

export function cors(allowedOrigins: string[]) {
  const any = allowedOrigins.includes("*");
  const allowed = new Set(allowedOrigins.map((o) => o.replace(/\/$/, "")));
  return (req: Request, res: Response, next: NextFunction) => {
    const origin = req.headers.origin;
    res.vary("Origin");
    if (origin && (any || allowed.has(origin))) {
      res.setHeader("Access-Control-Allow-Origin", any ? "*" : origin);
      res.setHeader("Access-Control-Expose-Headers", EXPOSED_HEADERS);
    }
    if (req.method === "OPTIONS") {
      if (origin && (any || allowed.has(origin))) {
        res.setHeader("Access-Control-Allow-Methods", ALLOWED_METHODS);
        res.setHeader("Access-Control-Allow-Headers", ALLOWED_HEADERS);
        res.setHeader("Access-Control-Max-Age", "3600");
      }
      res.status(204).end();
      return;
    }
    next();
  };
}
