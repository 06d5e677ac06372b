/**
 * BigQuery and Google identity tokens for the services clio-store brokers; the composition root
 * owns the instance's one of each (services/clients.ts), like the Cloud Storage client. Locally
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

export function createBigQuery(config: BigQueryConfig): BigQuery {
  const { BigQuery } = require("@google-cloud/bigquery") as typeof BigQueryModule;
  return new BigQuery({
    projectId: config.projectId,
    ...(config.bigqueryApiEndpoint && { apiEndpoint: config.bigqueryApiEndpoint }),
  });
}

/**
 * Identity tokens of the runtime's service account (the metadata server when deployed). Each
 * call makes a new source with its own token cache; callers keep one per instance.
 */
export function identityTokenSource(): (audience: string) => Promise<string> {
  const { GoogleAuth } = require("google-auth-library") as typeof GoogleAuthModule;
  return googleIdTokens(new GoogleAuth());
}
