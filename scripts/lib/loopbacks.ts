/**
 * The loopback stand-ins `npm start` runs for the services that have no emulator: Cloud Storage
 * (seeded with the demo HDF5 experiment and the signature blocks), BigQuery (seeded with the
 * signature index), the image-transfer service, neuPrint, the four harvest sources, and a GCE
 * metadata server that hands the functions identity tokens. Returns the params and environment
 * that point the functions at them.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { Storage } from "@google-cloud/storage";
import type { Firestore } from "firebase-admin/firestore";
import path from "node:path";
import { startBigQueryServer, type SeedTable } from "../../functions/loopback/bigquery.js";
import { startMetadataServer } from "../../functions/loopback/metadata.js";
import { startNeuprintServer } from "../../functions/loopback/neuprint.js";
import { createServiceAccount, loadServiceAccount } from "../../functions/loopback/service-account.js";
import { seedBucketFromDir, startStorageServer } from "../../functions/loopback/storage.js";
import { startTransferServer } from "../../functions/loopback/transfer.js";
import { startStsServer } from "../../functions/loopback/sts.js";
import { ZARR_SEED_DIR } from "../../functions/loopback/zarr-seed.js";
import { hippocampomePublishedUrls, startUpstreamServer } from "../../functions/loopback/upstream.js";
import { settings } from "../../functions/src/config.js";
import { SOURCE_REGISTRY } from "../../functions/src/sources/registry.js";
import { crawlAll } from "../../functions/src/services/file-catalog.js";
import { DatasetStore } from "../../functions/src/store/datasets.js";
import { PROJECT_ID, ROOT } from "./local-env.js";

export const BUCKETS = {
  files: "neurofire-files",
  signatures: "neurofire-signatures",
  catalog: "neurofire-catalog",
  transfer: "neurofire-transfer",
  activity: "neurofire-activity",
};

/** Fixed ports, so a restarted stack keeps its URLs. */
export const LOOPBACK_PORTS = {
  storage: 9199,
  bigquery: 9050,
  transfer: 9060,
  neuprint: 9070,
  upstream: 9080,
  sts: 9085,
};

export interface Loopbacks {
  /** Function params (written to functions/.env.local). */
  params: Record<string, string>;
  /** Environment of the functions' process. */
  env: Record<string, string>;
  lines: string[];
  close(): Promise<void>;
}

export async function startLoopbacks(neuprintToken: string): Promise<Loopbacks> {
  const dir = path.join(ROOT, ".emulators");
  mkdirSync(dir, { recursive: true });
  const keyFile = path.join(dir, "storage-signer.json");
  const signer = existsSync(keyFile)
    ? await loadServiceAccount(keyFile)
    : await createServiceAccount({ path: keyFile, projectId: PROJECT_ID });

  // Exchanges the metadata server's access token for downscoped ones, which storage enforces.
  const sts = await startStsServer({ port: LOOPBACK_PORTS.sts });
  const storage = await startStorageServer({
    port: LOOPBACK_PORTS.storage,
    signerPublicKeys: { [signer.credentials.client_email]: signer.publicKeyPem },
    downscoped: sts,
  });
  await seedBucketFromDir(
    storage.url,
    BUCKETS.files,
    path.join(ROOT, "emulator-data", "files", "demo-private"),
    "private-ds/",
  );
  await seedBucketFromDir(storage.url, BUCKETS.files, ZARR_SEED_DIR, "private-ds/zarr/");
  await seedBucketFromDir(
    storage.url,
    BUCKETS.signatures,
    path.join(ROOT, "emulator-data", "signatures", "demo"),
    "demo/",
  );

  const seed = JSON.parse(
    readFileSync(path.join(ROOT, "emulator-data", "signatures", "bigquery.json"), "utf8"),
  ) as {
    tables: Record<string, SeedTable>;
  };
  const bigquery = await startBigQueryServer({ port: LOOPBACK_PORTS.bigquery, tables: seed.tables });
  const transfer = await startTransferServer({ port: LOOPBACK_PORTS.transfer });
  const neuprint = await startNeuprintServer({ port: LOOPBACK_PORTS.neuprint, token: neuprintToken });
  const upstream = await startUpstreamServer({ port: LOOPBACK_PORTS.upstream });
  const metadata = await startMetadataServer(PROJECT_ID);

  return {
    params: {
      STORAGE_API_ENDPOINT: storage.url,
      STORAGE_SIGNER_KEY_FILE: keyFile,
      STS_TOKEN_URL: sts.tokenUrl,
      FILES_BUCKET: BUCKETS.files,
      SIG_BUCKET: BUCKETS.signatures,
      CATALOG_BUCKET: BUCKETS.catalog,
      BIGQUERY_API_ENDPOINT: bigquery.url,
      TRANSFER_FUNC: transfer.url,
      TRANSFER_DEST: BUCKETS.transfer,
      NEUPRINT_BASE_URL: neuprint.url,
      ACTIVITY_BUCKET: BUCKETS.activity,
      ...upstreamParams(upstream.url),
    },
    env: { GCE_METADATA_HOST: metadata.host, METADATA_SERVER_DETECTION: "assume-present" },
    lines: [
      `Cloud Storage (loopback)  ${storage.url}   buckets: ${Object.values(BUCKETS).join(", ")}`,
      `BigQuery (loopback)       ${bigquery.url}`,
      `STS (loopback)            ${sts.tokenUrl}   (zarr: private-ds/zarr/example.zarr)`,
      `transfer, neuPrint, harvest sources (loopback): ${transfer.url}, ${neuprint.url}, ${upstream.url}`,
    ],
    async close() {
      await Promise.allSettled(
        [storage, bigquery, transfer, neuprint, upstream, metadata, sts].map((s) => s.close()),
      );
    },
  };
}

/** Crawls every dataset's files into the file catalog, as the scheduled `filesCrawl` does. */
export async function crawlSeededFiles(db: Firestore, params: Loopbacks["params"]): Promise<number> {
  const stats = await crawlAll({
    db,
    storage: new Storage({ apiEndpoint: params.STORAGE_API_ENDPOINT, projectId: PROJECT_ID }),
    now: () => new Date(),
    log: { info: () => {}, warn: console.warn, error: console.error },
    datasets: new DatasetStore(db, 0),
    filesBucket: params.FILES_BUCKET ?? BUCKETS.files,
  });
  return stats.reduce((n, s) => n + s.listed, 0);
}

/**
 * The harvest sources' params pointed at the loopback upstream: every base URL, and Hippocampome's
 * published tables (GitHub in production), which the same loopback serves. Names come from the
 * source registry, so a source's params are listed nowhere else.
 */
function upstreamParams(origin: string): Record<string, string> {
  const out: Record<string, string> = {};
  const published: Record<string, string> = hippocampomePublishedUrls(origin);
  for (const entry of Object.values(SOURCE_REGISTRY)) {
    for (const [option, setting] of Object.entries(entry.params)) {
      const url = option === "baseUrl" ? origin : published[option];
      if (url) out[settings[setting].name] = url;
    }
  }
  return out;
}
