/**
 * Turns an API group into a 2nd-gen HTTPS function. The instance's composition root and the app
 * are built on the first request, when params can be read, and then reused by every request the
 * instance serves.
 */
import type { Request, Response } from "express";
import { onRequest, type HttpsOptions } from "firebase-functions/https";
import { loadConfig, tokenSecret } from "../config.js";
import { instance } from "../services/root.js";
import { createApp } from "./app.js";
import type { ApiGroup } from "./route.js";

export function httpFunction(group: ApiGroup, options: HttpsOptions = {}) {
  let app: ((req: Request, res: Response) => void) | undefined;
  return onRequest({ secrets: [tokenSecret], invoker: "public", ...options }, (req, res) => {
    app ??= createApp(group, instance(loadConfig));
    app(req, res);
  });
}
