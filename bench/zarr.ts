/**
 * Zarr chunk reads: straight from Cloud Storage with the downscoped token of
 * `POST /v2/files/{ds}/credentials` (the loopback storage checks the token's boundary on every
 * read), against the per-chunk alternative, `GET /v2/files/{ds}/{chunk}` (auth, permission, object
 * metadata, V4 signing) followed by its 302 to the signed URL. Also the credentials call itself
 * (cached per boundary after the first STS exchange) and the first exchange.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Storage } from "@google-cloud/storage";
import { startMetadataServer } from "../functions/loopback/metadata.js";
import { createServiceAccount } from "../functions/loopback/service-account.js";
import { seedBucketFromDir, startStorageServer } from "../functions/loopback/storage.js";
import { startStsServer } from "../functions/loopback/sts.js";
import { ZARR_PATH, ZARR_SEED_DIR } from "../functions/loopback/zarr-seed.js";
import { filesApi } from "../functions/src/api/files.js";
import { signApiToken } from "../functions/src/auth/tokens.js";
import { configSchema } from "../functions/src/config.js";
import { createApp } from "../functions/src/http/app.js";
import { createRoot } from "../functions/src/services/root.js";
import type { Logger } from "../functions/src/log.js";
import { firestore } from "../functions/src/store/firebase.js";
import { benchFirestore, listen, NO_RATE_LIMITS, percentile, PROJECT_ID, round, timeEach } from "./lib.js";

const silent: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const BUCKET = "bench-files";
const CHUNKS = ["c/0/0", "c/0/1", "c/1/0", "c/1/1"];
const READS = 400;

async function read(url: string, headers: Record<string, string>): Promise<void> {
  const res = await fetch(url, { headers });
  const got = (await res.arrayBuffer()).byteLength;
  if (res.status !== 200 || got !== 2048) throw new Error(`${url}: ${res.status} ${got} bytes`);
}

export async function runZarrBench(): Promise<Record<string, number | string>> {
  const emulator = await benchFirestore();
  const metadata = await startMetadataServer(PROJECT_ID);
  metadata.install();
  const tmp = await mkdtemp(path.join(os.tmpdir(), "neurofire-bench-zarr-"));
  const sa = await createServiceAccount({ path: path.join(tmp, "signer.json") });
  const sts = await startStsServer();
  const gcs = await startStorageServer({
    signerPublicKeys: { [sa.credentials.client_email]: sa.publicKeyPem },
    downscoped: sts,
  });
  try {
    const storage = new Storage({ apiEndpoint: gcs.url, projectId: PROJECT_ID, credentials: sa.credentials });
    await seedBucketFromDir(storage, BUCKET, ZARR_SEED_DIR, "private-ds/zarr/");
    const db = firestore();
    const email = "reader@example.org";
    await db
      .collection("clio_users")
      .doc(email)
      .set({ datasets: { "private-ds": ["clio_general"] } });
    await db
      .collection("clio_datasets")
      .doc("private-ds")
      .set({ description: "bench", files: { bucket: BUCKET } });
    const config = configSchema.parse({
      rateLimits: NO_RATE_LIMITS,
      projectId: PROJECT_ID,
      tokenSecret: "bench-secret-0123456789abcdef0123",
      storageApiEndpoint: gcs.url,
      storageSignerKeyFile: sa.path,
      stsTokenUrl: sts.tokenUrl,
    });
    const server = await listen(createApp(filesApi, createRoot({ config, db, log: silent })));
    const apiToken = await signApiToken(config, email, {}, 0, Date.now());
    const auth = { authorization: `Bearer ${apiToken}` };

    let credentials = { access_token: "", storage_url: "", bucket: "", prefix: "" };
    const issue = async () => {
      const res = await fetch(`${server.url}/v2/files/private-ds/credentials`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: "{}",
      });
      if (!res.ok) throw new Error(`credentials: ${res.status} ${await res.text()}`);
      credentials = (await res.json()) as typeof credentials;
    };
    const [firstIssueMs] = await timeEach(1, issue);
    await timeEach(30, issue);
    const issueMs = await timeEach(200, issue);

    let i = 0;
    const direct = () => {
      const chunk = CHUNKS[i++ % CHUNKS.length]!;
      const url = `${credentials.storage_url}/${credentials.bucket}/${credentials.prefix}${ZARR_PATH}/${chunk}`;
      return read(url, { authorization: `Bearer ${credentials.access_token}` });
    };
    // fetch follows the 302 and drops the API token on the cross-origin hop, as a browser does.
    const redirected = () =>
      read(`${server.url}/v2/files/private-ds/${ZARR_PATH}/${CHUNKS[i++ % CHUNKS.length]}`, auth);
    await timeEach(40, direct);
    await timeEach(40, redirected);
    const directMs = await timeEach(READS, direct);
    const redirectMs = await timeEach(READS, redirected);
    await server.close();

    const directP50 = percentile(directMs, 50);
    const redirectP50 = percentile(redirectMs, 50);
    return {
      "zarr.credentials_first_exchange_ms": round(firstIssueMs!),
      "zarr.credentials_cached_p50_ms": round(percentile(issueMs, 50)),
      "zarr.credentials_cached_p95_ms": round(percentile(issueMs, 95)),
      "zarr.sts_exchanges": sts.exchanges(),
      "zarr.chunk_reads": READS,
      "zarr.chunk_token_p50_ms": round(directP50),
      "zarr.chunk_token_p95_ms": round(percentile(directMs, 95)),
      "zarr.chunk_signed_redirect_p50_ms": round(redirectP50),
      "zarr.chunk_signed_redirect_p95_ms": round(percentile(redirectMs, 95)),
      "zarr.signed_redirect_vs_token_ratio": round(redirectP50 / directP50),
    };
  } finally {
    await gcs.close();
    await sts.close();
    await metadata.close();
    metadata.uninstall();
    await emulator.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  runZarrBench().then(
    (r) => {
      for (const [k, v] of Object.entries(r)) process.stdout.write(`${k}: ${v}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
