/**
 * Zarr chunk reads: straight from Cloud Storage with the downscoped token of
 * `POST /v2/files/{ds}/credentials` (the loopback storage checks the token's boundary on every
 * read), against the per-chunk alternative, `GET /v2/files/{ds}/{chunk}` (auth, permission, object
 * metadata, V4 signing) followed by its 302 to the signed URL. Also the credentials call itself
 * (cached per boundary after the first STS exchange) and the first exchange.
 */
import { startMetadataServer } from "../functions/loopback/metadata.js";
import { seedBucketFromDir } from "../functions/loopback/storage.js";
import { startStsServer } from "../functions/loopback/sts.js";
import { ZARR_PATH, ZARR_SEED_DIR } from "../functions/loopback/zarr-seed.js";
import { filesApi } from "../functions/src/api/files.js";
import { signApiToken } from "../functions/src/auth/tokens.js";
import { createApp } from "../functions/src/http/app.js";
import { createRoot } from "../functions/src/services/root.js";
import { firestore } from "../functions/src/store/firebase.js";
import {
  benchFirestore,
  benchStorage,
  listen,
  percentile,
  printWhenRun,
  PROJECT_ID,
  round,
  seedPrivateReader,
  silent,
  timeEach,
} from "./lib.js";

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
  const sts = await startStsServer();
  const bench = await benchStorage("zarr", { downscoped: sts });
  try {
    await seedBucketFromDir(bench.storage, BUCKET, ZARR_SEED_DIR, "private-ds/zarr/");
    const db = firestore();
    const email = "reader@example.org";
    await seedPrivateReader(db, email, BUCKET);
    const config = bench.config({
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
    await bench.close();
    await sts.close();
    await metadata.close();
    metadata.uninstall();
    await emulator.stop();
  }
}

printWhenRun(import.meta.url, runZarrBench);
