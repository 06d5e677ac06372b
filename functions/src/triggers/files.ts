/**
 * Keeps the file catalog current: a scheduled crawl reconciles every dataset (and catches what
 * the triggers missed), and storage finalize/delete triggers on FILES_BUCKET record changes in
 * between. All three are idempotent, so a retried or duplicated event changes nothing.
 */
import type { FileMetadata } from "@google-cloud/storage";
import { onSchedule } from "firebase-functions/scheduler";
import { onObjectDeleted, onObjectFinalized, type StorageObjectData } from "firebase-functions/storage";
import { loadConfig, params } from "../config.js";
import { storageClient } from "../services/clients.js";
import { instance, type Root } from "../services/root.js";
import {
  crawlAll,
  locationsFor,
  recordDeleted,
  recordFinalized,
  type CatalogDeps,
} from "../services/file-catalog.js";
import { toObjectInfo } from "../storage/objects.js";

type TriggerRoot = Pick<Root, "db" | "config" | "now" | "log" | "datasets" | "get">;

function catalogDeps(root: TriggerRoot): CatalogDeps {
  return { db: root.db, storage: root.get(storageClient), now: root.now, log: root.log };
}

export const filesCrawl = onSchedule(
  { schedule: "every 6 hours", timeoutSeconds: 540, memory: "1GiB" },
  async () => {
    const root = instance(loadConfig);
    const stats = await crawlAll({
      ...catalogDeps(root),
      datasets: root.datasets,
      filesBucket: root.config.filesBucket,
    });
    root.log.info("file catalog crawl finished", { datasets: stats.length, stats: JSON.stringify(stats) });
  },
);

/** An object written to a watched bucket: recorded in each dataset whose files hold it. */
export async function handleFinalized(root: TriggerRoot, data: StorageObjectData): Promise<void> {
  const info = toObjectInfo(data.bucket, data as unknown as FileMetadata);
  for (const location of await locationsFor(root.datasets, root.config.filesBucket, data.bucket, data.name)) {
    await recordFinalized(catalogDeps(root), location, info);
  }
}

/** An object deleted: its entries go (unless a newer generation was recorded meanwhile). */
export async function handleDeleted(root: TriggerRoot, data: StorageObjectData): Promise<void> {
  for (const location of await locationsFor(root.datasets, root.config.filesBucket, data.bucket, data.name)) {
    await recordDeleted(catalogDeps(root), location, {
      name: data.name,
      generation: String(data.generation),
    });
  }
}

export const filesObjectFinalized = onObjectFinalized(
  { bucket: params.filesBucket, memory: "1GiB" },
  (event) => handleFinalized(instance(loadConfig), event.data),
);

export const filesObjectDeleted = onObjectDeleted({ bucket: params.filesBucket }, (event) =>
  handleDeleted(instance(loadConfig), event.data),
);
