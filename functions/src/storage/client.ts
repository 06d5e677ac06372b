/**
 * The Cloud Storage client, created lazily (importing this module does no I/O) and shared per
 * configuration. Deployed, it signs URLs through IAM signBlob as the runtime service account;
 * locally a key file signs them offline and the endpoint points at the loopback server.
 */
import { Storage } from "@google-cloud/storage";
import type { Config } from "../config.js";

export type StorageConfig = Pick<Config, "projectId" | "storageApiEndpoint" | "storageSignerKeyFile">;

const clients = new Map<string, Storage>();

export function storageFor(config: StorageConfig): Storage {
  const key = JSON.stringify([config.projectId, config.storageApiEndpoint, config.storageSignerKeyFile]);
  let client = clients.get(key);
  if (!client) {
    client = new Storage({
      projectId: config.projectId,
      ...(config.storageApiEndpoint && { apiEndpoint: config.storageApiEndpoint }),
      ...(config.storageSignerKeyFile && { keyFilename: config.storageSignerKeyFile }),
    });
    clients.set(key, client);
  }
  return client;
}
