/**
 * The credentials API over real HTTP: the loopback GCE metadata server (the source credential
 * google-auth-library's DownscopedClient exchanges), the loopback STS (the exchange), and the
 * loopback Cloud Storage enforcing the boundaries that STS issued, with the seed files and the
 * seed zarr array under each dataset's prefix.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Storage } from "@google-cloud/storage";
import { startMetadataServer, type MetadataServer } from "../../loopback/metadata.js";
import { createServiceAccount } from "../../loopback/service-account.js";
import { seedBucketFromDir, startStorageServer, type StorageServer } from "../../loopback/storage.js";
import { startStsServer, type StsServer } from "../../loopback/sts.js";
import { ZARR_PATH, ZARR_SEED_DIR } from "../../loopback/zarr-seed.js";
import { filesApi } from "../../src/api/files.js";
import { keysApi } from "../../src/api/keys.js";
import type { ApiGroup } from "../../src/http/route.js";
import { PRIVATE_DS, PUBLIC_DS, serve, type TestServer } from "../helpers/server.js";
import { BUCKET, SEED_DIR } from "./fixture.js";

/** A bucket no dataset uses: a token must never reach it. */
export const OTHER_BUCKET = "someone-elses-bucket";

export interface CredentialsFixture {
  api: TestServer;
  gcs: StorageServer;
  sts: StsServer;
  metadata: MetadataServer;
  storage: Storage;
  /** Moves the STS clock (issued tokens expire against it). */
  setClockOffset(ms: number): void;
  close(): Promise<void>;
}

export async function startCredentialsFixture(
  groups: ApiGroup[] = [filesApi, keysApi],
): Promise<CredentialsFixture> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "neurofire-credentials-"));
  const sa = await createServiceAccount({ path: path.join(tmp, "signer.json") });
  let offset = 0;
  const metadata = await startMetadataServer();
  metadata.install();
  const sts = await startStsServer({ now: () => Date.now() + offset });
  const gcs = await startStorageServer({
    signerPublicKeys: { [sa.credentials.client_email]: sa.publicKeyPem },
    downscoped: sts,
  });
  const storage = new Storage({
    apiEndpoint: gcs.url,
    projectId: "demo-neurofire",
    credentials: sa.credentials,
  });
  const api = await serve(groups, {
    storageApiEndpoint: gcs.url,
    storageSignerKeyFile: sa.path!,
    stsTokenUrl: sts.tokenUrl,
  });
  return {
    api,
    gcs,
    sts,
    metadata,
    storage,
    setClockOffset: (ms) => (offset = ms),
    async close() {
      await api.close();
      await Promise.all([gcs.close(), sts.close(), metadata.close()]);
      metadata.uninstall();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

/** The seed folder and the zarr array under `private-ds/`, a file under `public-ds/` and elsewhere. */
export async function seedCredentialObjects(fx: CredentialsFixture): Promise<void> {
  fx.gcs.clear();
  await seedBucketFromDir(fx.storage, BUCKET, SEED_DIR, `${PRIVATE_DS}/`);
  await seedBucketFromDir(fx.storage, BUCKET, ZARR_SEED_DIR, `${PRIVATE_DS}/zarr/`);
  const put = (bucket: string, name: string, text: string) =>
    fx.storage.bucket(bucket).file(name).save(text, { resumable: false, contentType: "text/plain" });
  await put(BUCKET, `${PUBLIC_DS}/open/readme.txt`, "open data");
  // A sibling whose name merely starts with the dataset's name: the boundary ends in "/".
  await put(BUCKET, `${PRIVATE_DS}-secrets/key.txt`, "not yours");
  await put(OTHER_BUCKET, `${PRIVATE_DS}/readme.txt`, "other bucket");
}

export const ZARR_OBJECT = `${PRIVATE_DS}/${ZARR_PATH}`;
