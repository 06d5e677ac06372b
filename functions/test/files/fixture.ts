/**
 * The files API over real HTTP with the loopback Cloud Storage server: a fresh signing key,
 * the seed experiment folder uploaded under each dataset's prefix, and the personas.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Storage } from "@google-cloud/storage";
import { createServiceAccount } from "../../loopback/service-account.js";
import { seedBucketFromDir, startStorageServer, type StorageServer } from "../../loopback/storage.js";
import { filesApi } from "../../src/api/files.js";
import { firestore } from "../../src/store/firebase.js";
import { PRIVATE_DS, PUBLIC_DS, serve, type TestServer } from "../helpers/server.js";

export const BUCKET = "neurofire-files";
export const SEED_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../../emulator-data/files/demo-private",
);
export const NWB = "session-001/recording.nwb";

export interface FilesFixture {
  api: TestServer;
  gcs: StorageServer;
  storage: Storage;
  /** Moves the storage server's clock (to expire signed URLs). */
  setClockOffset(ms: number): void;
  nwbBytes: Buffer;
  close(): Promise<void>;
}

export async function startFilesFixture(
  overrides: { signedUrlSeconds?: number } = {},
): Promise<FilesFixture> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "neurofire-files-"));
  const sa = await createServiceAccount({ path: path.join(tmp, "signer.json") });
  let offset = 0;
  const gcs = await startStorageServer({
    signerPublicKeys: { [sa.credentials.client_email]: sa.publicKeyPem },
    now: () => Date.now() + offset,
  });
  const storage = new Storage({
    apiEndpoint: gcs.url,
    projectId: "demo-neurofire",
    credentials: sa.credentials,
  });
  const api = await serve(filesApi, {
    storageApiEndpoint: gcs.url,
    storageSignerKeyFile: sa.path!,
    ...overrides,
  });
  return {
    api,
    gcs,
    storage,
    setClockOffset: (ms) => (offset = ms),
    nwbBytes: await readFile(path.join(SEED_DIR, NWB)),
    async close() {
      await api.close();
      await gcs.close();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

/** Uploads the seed folder under `private-ds/` and a small file under `public-ds/`. */
export async function seedObjects(fx: FilesFixture): Promise<void> {
  fx.gcs.clear();
  await seedBucketFromDir(fx.storage, BUCKET, SEED_DIR, `${PRIVATE_DS}/`);
  await fx.storage
    .bucket(BUCKET)
    .file(`${PUBLIC_DS}/open/readme.txt`)
    .save("open data", { resumable: false, contentType: "text/plain" });
}

/** Points both persona datasets at the bucket (run after seedPersonas). */
export async function seedDatasetFiles(): Promise<void> {
  const db = firestore();
  await db
    .collection("clio_datasets")
    .doc(PRIVATE_DS)
    .set({ files: { bucket: BUCKET } }, { merge: true });
  await db
    .collection("clio_datasets")
    .doc(PUBLIC_DS)
    .set({ files: { bucket: BUCKET, prefix: `${PUBLIC_DS}/` } }, { merge: true });
}
