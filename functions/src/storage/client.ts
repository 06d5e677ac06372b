/**
 * The Cloud Storage client, created lazily and shared per configuration. Deployed, it signs URLs
 * through IAM signBlob as the runtime service account; locally a key file signs them offline and
 * the endpoint points at the loopback server.
 *
 * `@google-cloud/storage` costs about as much to import as the rest of a small function together,
 * so it is loaded on the first call, not when this module is imported: functions that never touch
 * Cloud Storage never load it. It is a CommonJS package, so a synchronous require keeps this
 * function synchronous for its callers.
 */
import { createRequire } from "node:module";
import type * as StorageModule from "@google-cloud/storage";
import type { Storage } from "@google-cloud/storage";
import type { Config } from "../config.js";

export type StorageConfig = Pick<Config, "projectId" | "storageApiEndpoint" | "storageSignerKeyFile">;

const require = createRequire(import.meta.url);
const clients = new Map<string, Storage>();

export function storageFor(config: StorageConfig): Storage {
  const key = JSON.stringify([config.projectId, config.storageApiEndpoint, config.storageSignerKeyFile]);
  let client = clients.get(key);
  if (!client) {
    const { Storage } = require("@google-cloud/storage") as typeof StorageModule;
    client = new Storage({
      projectId: config.projectId,
      ...(config.storageApiEndpoint && { apiEndpoint: config.storageApiEndpoint }),
      ...(config.storageSignerKeyFile && { keyFilename: config.storageSignerKeyFile }),
    });
    clients.set(key, client);
  }
  return client;
}
