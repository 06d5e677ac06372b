/**
 * Keeps the file catalog current: a scheduled crawl reconciles every dataset (and catches what
 * the triggers missed), and storage finalize/delete triggers on FILES_BUCKET record changes in
 * between. All three are idempotent, so a retried or duplicated event changes nothing.
 */
import type { FileMetadata } from "@google-cloud/storage";
import { onSchedule } from "firebase-functions/scheduler";
import { onObjectDeleted, onObjectFinalized, type StorageObjectData } from "firebase-functions/storage";
import { loadConfig, params } from "../config.js";
import { instance } from "../services/root.js";
import {
  crawlAll,
  locationsFor,
  recordDeleted,
  recordFinalized,
  type CatalogDeps,
} from "../services/file-catalog.js";
import { storageFor } from "../storage/client.js";
import { toObjectInfo } from "../storage/objects.js";

function catalogDeps() {
  // The instance's root: its dataset cache outlives one event, so a burst of uploads reads the
  // datasets once per CACHE_SECONDS, not once per object.
  const deps = instance(loadConfig);
  const catalog: CatalogDeps = {
    db: deps.db,
    storage: storageFor(deps.config),
    now: deps.now,
    log: deps.log,
  };
  return { deps, catalog };
}

export const filesCrawl = onSchedule(
  { schedule: "every 6 hours", timeoutSeconds: 540, memory: "1GiB" },
  async () => {
    const { deps, catalog } = catalogDeps();
    const stats = await crawlAll({
      ...catalog,
      datasets: deps.datasets,
      filesBucket: deps.config.filesBucket,
    });
    deps.log.info("file catalog crawl finished", { datasets: stats.length, stats: JSON.stringify(stats) });
  },
);

export async function handleFinalized(data: StorageObjectData): Promise<void> {
  const { deps, catalog } = catalogDeps();
  const info = toObjectInfo(data.bucket, data as unknown as FileMetadata);
  for (const location of await locationsFor(deps.datasets, deps.config.filesBucket, data.bucket, data.name)) {
    await recordFinalized(catalog, location, info);
  }
}

export async function handleDeleted(data: StorageObjectData): Promise<void> {
  const { deps, catalog } = catalogDeps();
  for (const location of await locationsFor(deps.datasets, deps.config.filesBucket, data.bucket, data.name)) {
    await recordDeleted(catalog, location, { name: data.name, generation: String(data.generation) });
  }
}

export const filesObjectFinalized = onObjectFinalized(
  { bucket: params.filesBucket, memory: "1GiB" },
  (event) => handleFinalized(event.data),
);

export const filesObjectDeleted = onObjectDeleted({ bucket: params.filesBucket }, (event) =>
  handleDeleted(event.data),
);
