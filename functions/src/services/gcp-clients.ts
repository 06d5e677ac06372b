/**
 * BigQuery and Google identity tokens for the services clio-store brokers, created lazily (importing
 * this module does no I/O) and shared per configuration, like the Cloud Storage client of
 * `storage/client.ts`. Locally BIGQUERY_API_ENDPOINT points the real client at the loopback.
 */
import { BigQuery } from "@google-cloud/bigquery";
import { GoogleAuth } from "google-auth-library";
import type { Config } from "../config.js";
import { googleIdTokens } from "./transfer.js";

export type BigQueryConfig = Pick<Config, "projectId" | "bigqueryApiEndpoint">;

const bigqueries = new Map<string, BigQuery>();

export function bigqueryFor(config: BigQueryConfig): BigQuery {
  const key = JSON.stringify([config.projectId, config.bigqueryApiEndpoint]);
  let client = bigqueries.get(key);
  if (!client) {
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
  return googleIdTokens(new GoogleAuth());
}
