/**
 * The neuPrint proxy: forwards a Cypher query to the dataset's neuPrint server with the
 * deployment's neuPrint credential, and turns every way that can fail into a clear ApiError
 * (clio answered 400 for all of them, server faults included).
 *
 * The credential is the deployment's, so (security review H2) the caller needs an explicit role
 * on the dataset (the public level does not count), the Cypher must stay inside the dataset's own
 * neuPrint dataset (neuprint-cypher.ts), and neuPrint's answer is read with a byte cap.
 */
import { hasRole } from "../auth/permissions.js";
import { ApiError, forbidden, toIssues } from "../errors.js";
import { neuprintDatasetSchema, neuprintRequestSchema, type NeuprintResponse } from "../schemas/neuprint.js";
import type { User } from "../schemas/users.js";
import { assertBoundToDataset } from "./neuprint-cypher.js";
import { BodyTooLargeError, readCapped, readTextPrefix, tooLarge } from "./upstream-body.js";

export interface NeuprintDeps {
  /** NEUPRINT_APPLICATION_CREDENTIALS, sent as a Bearer token; empty means not configured. */
  token: string;
  /** The dataset document, or undefined when there is none. */
  getDataset: (dataset: string) => Promise<unknown>;
  /**
   * Replaces `https://{server}` for every dataset (NEUPRINT_BASE_URL); for local stand-ins.
   * Empty or absent uses the dataset's server.
   */
  baseUrl?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** The role the caller must hold on the dataset itself (NEUPRINT_ROLE); public does not count. */
  role?: string;
  /** The largest neuPrint answer relayed (NEUPRINT_MAX_RESPONSE_BYTES). */
  maxResponseBytes?: number;
}

/** Defaults of the deps above. */
export const NEUPRINT_DEFAULT_ROLE = "clio_general";
export const NEUPRINT_DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** A bare host with an optional port: nothing that could change the path or the scheme. */
const HOST = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::\d{1,5})?$/;

/** The most of an upstream error message passed on to the caller. */
const MAX_MESSAGE = 500;

async function upstreamMessage(response: Response): Promise<string> {
  const text = (await readTextPrefix(response, 64 * 1024).catch(() => "")).trim();
  let message = text;
  try {
    const json = JSON.parse(text) as unknown;
    if (json && typeof json === "object") {
      const { error, message: m } = json as { error?: unknown; message?: unknown };
      if (typeof error === "string") message = error;
      else if (typeof m === "string") message = m;
    }
  } catch {
    // Not JSON: the text itself is the message.
  }
  return message.slice(0, MAX_MESSAGE) || `status ${response.status}`;
}

export function createNeuprintService(deps: NeuprintDeps) {
  const doFetch = deps.fetch ?? fetch;

  /**
   * The upstream URL for `dataset`. The query must name that dataset's own neuPrint dataset
   * (`neuprintHTTP.dataset`, or the clio id when none is stored), optionally `:<version>`: the
   * caller's permission was checked on this dataset, and the credential sent upstream is ours.
   */
  async function endpoint(dataset: string, requested: string): Promise<{ url: string; allowed: string }> {
    const doc = await deps.getDataset(dataset);
    if (doc === undefined || doc === null) throw new ApiError("not_found", `Dataset ${dataset} not found`);
    const neuprint = neuprintDatasetSchema.safeParse(doc).data?.neuprintHTTP;
    const server = neuprint?.server;
    if (!server) throw new ApiError("failed_precondition", `Dataset ${dataset} has no neuPrint server`);
    let url: string;
    if (deps.baseUrl) url = `${deps.baseUrl.replace(/\/+$/, "")}/api/custom/custom`;
    else {
      const host = server.replace(/^https:\/\//, "").replace(/\/+$/, "");
      if (!HOST.test(host))
        throw new ApiError("failed_precondition", `Dataset ${dataset} has an invalid neuPrint server`);
      url = `https://${host}/api/custom/custom`;
    }
    const allowed = (neuprint.dataset ?? dataset).split(":")[0]!;
    if (requested.split(":")[0] !== allowed) {
      throw new ApiError(
        "permission_denied",
        `Dataset ${dataset} may only query neuPrint dataset ${allowed}, not ${requested}`,
      );
    }
    return { url, allowed };
  }

  return {
    async query(user: User, dataset: string, body: unknown): Promise<NeuprintResponse> {
      const role = deps.role ?? NEUPRINT_DEFAULT_ROLE;
      // An explicit role on this dataset: isPublic=false, so a public dataset's implicit level
      // (every Google account) does not reach the deployment's neuPrint credential.
      if (!hasRole(user, role, dataset, false)) {
        throw forbidden(
          `${user.email || "anonymous"} lacks ${role} on dataset ${dataset} (the neuPrint proxy needs an explicit role)`,
        );
      }
      if (!deps.token)
        throw new ApiError("unavailable", "The neuPrint proxy is not configured on this server");
      const parsed = neuprintRequestSchema.safeParse(body);
      if (!parsed.success) {
        throw new ApiError("invalid_argument", "Expected {cypher, dataset}", toIssues(parsed.error));
      }
      const { url, allowed } = await endpoint(dataset, parsed.data.dataset);
      assertBoundToDataset(parsed.data.cypher, allowed);
      const maxBytes = deps.maxResponseBytes ?? NEUPRINT_DEFAULT_MAX_RESPONSE_BYTES;
      const timeoutMs = deps.timeoutMs ?? 30_000;
      let response: Response;
      try {
        response = await doFetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${deps.token}` },
          body: JSON.stringify({ cypher: parsed.data.cypher, dataset: parsed.data.dataset }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        if (err instanceof Error && err.name === "TimeoutError") {
          throw new ApiError("deadline_exceeded", `neuPrint did not answer within ${timeoutMs} ms`);
        }
        throw new ApiError("bad_gateway", "neuPrint could not be reached", undefined, { cause: err });
      }
      if (response.status === 401 || response.status === 403) {
        // The credential is the server's, not the caller's: a configuration fault upstream.
        await response.body?.cancel();
        throw new ApiError("bad_gateway", "neuPrint refused this server's credential");
      }
      if (response.status >= 400 && response.status < 500) {
        throw new ApiError(
          "invalid_argument",
          `neuPrint rejected the query: ${await upstreamMessage(response)}`,
        );
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new ApiError("bad_gateway", `neuPrint failed with status ${response.status}`);
      }
      try {
        return JSON.parse((await readCapped(response, maxBytes)).toString("utf8")) as NeuprintResponse;
      } catch (err) {
        if (err instanceof BodyTooLargeError) throw tooLarge("neuPrint", err);
        if (err instanceof Error && err.name === "TimeoutError") {
          throw new ApiError("deadline_exceeded", `neuPrint did not answer within ${timeoutMs} ms`);
        }
        throw new ApiError("bad_gateway", "neuPrint answered with invalid JSON", undefined, { cause: err });
      }
    },
  };
}
