/**
 * Signatures: GET /v2/signatures/atlocation with a warm block cache, as a ratio of one raw
 * firebase-admin get() of the caller's clio_users document (the permission read every request
 * would cost uncached), and GET /v2/signatures/likelocation end to end through the real BigQuery
 * client against the loopback BigQuery (alasql) on the committed seed. One emulator, one run.
 *
 *   npx tsx bench/signatures.ts
 */
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { startBigQueryServer, type SeedTable } from "../functions/loopback/bigquery.js";
import { seedBucketFromDir, startStorageServer } from "../functions/loopback/storage.js";
import { signaturesApi } from "../functions/src/api/signatures.js";
import { signApiToken } from "../functions/src/auth/tokens.js";
import { configSchema } from "../functions/src/config.js";
import { createApp } from "../functions/src/http/app.js";
import { createRoot } from "../functions/src/services/root.js";
import type { Logger } from "../functions/src/log.js";
import { firestore } from "../functions/src/store/firebase.js";
import { benchFirestore, listen, percentile, PROJECT_ID, round, timeEach, NO_RATE_LIMITS } from "./lib.js";

const silent: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const READER = "reader@example.org";
const BUCKET = "signatures";

export async function runSignaturesBench(): Promise<Record<string, number | string>> {
  const emulator = await benchFirestore();
  const storage = await startStorageServer();
  const seed = JSON.parse(await readFile("emulator-data/signatures/bigquery.json", "utf8")) as {
    tables: Record<string, SeedTable>;
  };
  const bigquery = await startBigQueryServer({ tables: seed.tables });
  try {
    await seedBucketFromDir(storage.url, BUCKET, "emulator-data/signatures/demo", "demo/");
    const db = firestore();
    await db
      .collection("clio_users")
      .doc(READER)
      .set({ datasets: { demo: ["clio_general"] } });
    await db.collection("clio_datasets").doc("demo").set({ description: "signature demo" });
    const config = configSchema.parse({
      rateLimits: NO_RATE_LIMITS,
      projectId: PROJECT_ID,
      tokenSecret: "bench-secret-0123456789abcdef0123",
      sigBucket: BUCKET,
      storageApiEndpoint: storage.url,
      bigqueryApiEndpoint: bigquery.url,
    });
    const server = await listen(createApp(signaturesApi, createRoot({ config, db, log: silent })));
    const token = await signApiToken(config, READER, {}, 0, Date.now());
    const get = async (path: string) => {
      const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`${path}: ${res.status}`);
    };

    // Points spread over the four seeded blocks, so the cache serves several blocks.
    const points = [
      [96, 96, 96],
      [300, 40, 100],
      [40, 300, 200],
      [400, 400, 60],
    ];
    let i = 0;
    const atLocation = () => {
      const [x, y, z] = points[i++ % points.length]!;
      return get(`/v2/signatures/atlocation/demo?x=${x}&y=${y}&z=${z}`);
    };
    for (let n = 0; n < 100; n++) await atLocation(); // warms blocks, info.json, users, datasets
    storage.resetStats();
    const atMs = await timeEach(1000, atLocation);
    const storageReadsWarm = storage.stats().requests;
    const user = db.collection("clio_users").doc(READER);
    await timeEach(100, () => user.get());
    const rawMs = await timeEach(1000, () => user.get());

    const like = () => get("/v2/signatures/likelocation/demo?x=96&y=96&z=96");
    await timeEach(10, like);
    const likeMs = await timeEach(200, like);
    await server.close();
    return {
      "atlocation p50 ms (warm)": round(percentile(atMs, 50), 3),
      "atlocation p95 ms (warm)": round(percentile(atMs, 95), 3),
      "raw clio_users get() p50 ms": round(percentile(rawMs, 50), 3),
      "raw clio_users get() p95 ms": round(percentile(rawMs, 95), 3),
      "atlocation / raw get() (p50)": round(percentile(atMs, 50) / percentile(rawMs, 50)),
      "atlocation / raw get() (p95)": round(percentile(atMs, 95) / percentile(rawMs, 95)),
      "storage requests during warm atlocation": storageReadsWarm,
      "likelocation p50 ms (loopback BigQuery)": round(percentile(likeMs, 50)),
      "likelocation p95 ms (loopback BigQuery)": round(percentile(likeMs, 95)),
    };
  } finally {
    await bigquery.close();
    await storage.close();
    await emulator.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  console.table(await runSignaturesBench());
  process.exit(0);
}
