/**
 * Turns an API group into a 2nd-gen HTTPS function. The app and its dependencies are built on
 * the first request, when params can be read, and then reused by every request of the instance.
 */
import type { Request, Response } from "express";
import { onRequest, type HttpsOptions } from "firebase-functions/https";
import { loadConfig, tokenSecret } from "../config.js";
import { createApp } from "./app.js";
import { createDeps } from "../services/deps.js";
import type { ApiGroup } from "./route.js";

export function httpFunction(group: ApiGroup, options: HttpsOptions = {}) {
  let app: ((req: Request, res: Response) => void) | undefined;
  return onRequest({ secrets: [tokenSecret], invoker: "public", ...options }, (req, res) => {
    app ??= createApp(group, createDeps({ config: loadConfig() }));
    app(req, res);
  });
}
