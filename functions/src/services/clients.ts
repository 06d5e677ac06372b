/**
 * The SDK clients an instance owns, one each, built on first use through the composition root:
 * the only place they are kept, so every caller gets them from the root.
 * Only the modules that use a client import this, and the SDKs themselves load on first use, so a
 * function that never touches BigQuery never pays for it.
 */
import { createStorage } from "../storage/client.js";
import { createBigQuery, identityTokenSource } from "./gcp-clients.js";
import { provide } from "./root.js";

export const storageClient = provide("storage", (root) => createStorage(root.config));
export const bigqueryClient = provide("bigquery", (root) => createBigQuery(root.config));
/** Identity tokens of the runtime's service account, with their cache. */
export const identityTokens = provide("identity-tokens", () => identityTokenSource());
