/**
 * BigQuery and Google identity tokens for the services clio-store brokers, created lazily and
 * shared per configuration, like the Cloud Storage client of `storage/client.ts`. Locally
 * BIGQUERY_API_ENDPOINT points the real client at the loopback.
 *
 * Both libraries are loaded on first use, not when this module is imported, so that only the
 * functions that call BigQuery or mint identity tokens pay for them at cold start. They are
 * CommonJS packages: a synchronous require keeps these functions synchronous.
 */
import { createRequire } from "node:module";
import type * as BigQueryModule from "@google-cloud/bigquery";
import type { BigQuery } from "@google-cloud/bigquery";
import type * as GoogleAuthModule from "google-auth-library";
import type { Config } from "../config.js";
import { googleIdTokens } from "./transfer.js";

export type BigQueryConfig = Pick<Config, "projectId" | "bigqueryApiEndpoint">;

const require = createRequire(import.meta.url);
const bigqueries = new Map<string, BigQuery>();

export function bigqueryFor(config: BigQueryConfig): BigQuery {
  const key = JSON.stringify([config.projectId, config.bigqueryApiEndpoint]);
  let client = bigqueries.get(key);
  if (!client) {
    const { BigQuery } = require("@google-cloud/bigquery") as typeof BigQueryModule;
    client = new BigQuery({
      projectId: config.projectId,
      ...(config.bigqueryApiEndpoint && { apiEndpoint: config.bigqueryApiEndpoint }),
    });
    bigqueries.set(key, client);
  }
  return client;
}

/**
 * Identity tokens of the runtime's service account (the metadata server when deployed). Each
 * call makes a new source with its own token cache; callers keep one per instance.
 */
export function identityTokenSource(): (audience: string) => Promise<string> {
  const { GoogleAuth } = require("google-auth-library") as typeof GoogleAuthModule;
  return googleIdTokens(new GoogleAuth());
}
