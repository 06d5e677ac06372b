/**
 * A Cloud Storage client for a configuration; the composition root owns the instance's one
 * (`storageClient` in services/clients.ts). Deployed, it signs URLs
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

export function createStorage(config: StorageConfig): Storage {
  const { Storage } = require("@google-cloud/storage") as typeof StorageModule;
  return new Storage({
    projectId: config.projectId,
    ...(config.storageApiEndpoint && { apiEndpoint: config.storageApiEndpoint }),
    ...(config.storageSignerKeyFile && { keyFilename: config.storageSignerKeyFile }),
  });
}
