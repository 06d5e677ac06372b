/**
 * Turns an API group into a 2nd-gen HTTPS function. The instance's composition root and the app
 * are built on the first request, when params can be read, and then reused by every request the
 * instance serves.
 *
 * index.ts passes each group as a loader (`lazyGroup`), so that importing index.ts, which every
 * deployed function does, loads no API module: a function imports its own group on its first
 * request, and the one this instance serves (FUNCTION_TARGET, set by Cloud Functions and by the
 * emulator) starts importing at once, in parallel with the runtime's start-up. Deploy discovery
 * needs only the trigger definitions, which onRequest() builds from the options here.
 */
import type { Request, Response } from "express";
import { onRequest, type HttpsOptions } from "firebase-functions/https";
import { loadConfig, tokenSecret } from "../config.js";
import { instance } from "../services/root.js";
import { createApp } from "./app.js";
import type { ApiGroup } from "./route.js";

type Handler = (req: Request, res: Response) => void;

/** An API group, or a loader of its module. */
export type GroupSource = ApiGroup | (() => Promise<ApiGroup>);

export function httpFunction(group: GroupSource, options: HttpsOptions = {}) {
  let app: Promise<Handler> | undefined;
  const loadGroup = typeof group === "function" ? group : () => Promise.resolve(group);
  const build = async (): Promise<Handler> => createApp(await loadGroup(), instance(loadConfig));
  const fn = onRequest({ secrets: [tokenSecret], invoker: "public", ...options }, async (req, res) => {
    app ??= build();
    let handler: Handler;
    try {
      handler = await app;
    } catch (err) {
      // A failed import or build is retried by the next request, not cached for the instance.
      app = undefined;
      throw err;
    }
    handler(req, res);
  });
  // For the wiring test: which group each export serves, without a request.
  return Object.assign(fn, { loadGroup });
}

/**
 * A group's module, imported once on first use; at once when this instance serves `exportName`.
 */
export function lazyGroup(exportName: string, load: () => Promise<ApiGroup>): () => Promise<ApiGroup> {
  let loaded: Promise<ApiGroup> | undefined;
  const get = () =>
    (loaded ??= load().catch((err: unknown) => {
      loaded = undefined; // the next request tries again
      throw err;
    }));
  if (process.env.FUNCTION_TARGET === exportName) void get().catch(() => {});
  return get;
}
