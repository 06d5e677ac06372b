/**
 * Foundation: authenticated GET /v2/roles throughput against the unauthenticated health route of
 * the same app, and GET /v2/datasets/{id} latency against a raw firebase-admin get() of the same
 * document on the same emulator.
 */
import { pathToFileURL } from "node:url";
import { datasetsApi } from "../functions/src/api/datasets.js";
import { rolesApi } from "../functions/src/api/roles.js";
import { configSchema } from "../functions/src/config.js";
import { createApp } from "../functions/src/http/app.js";
import { createRoot } from "../functions/src/services/root.js";
import type { Logger } from "../functions/src/log.js";
import { signApiToken } from "../functions/src/auth/tokens.js";
import { firestore } from "../functions/src/store/firebase.js";
import {
  benchFirestore,
  listen,
  percentile,
  PROJECT_ID,
  round,
  throughput,
  timeEach,
  NO_RATE_LIMITS,
} from "./lib.js";

const silent: Logger = { info: () => {}, warn: () => {}, error: () => {} };

export async function runFoundationBench(): Promise<Record<string, number | string>> {
  const emulator = await benchFirestore();
  try {
    const db = firestore();
    await db
      .collection("clio_users")
      .doc("reader@example.org")
      .set({ datasets: { "private-ds": ["clio_general"] } });
    await db
      .collection("clio_datasets")
      .doc("private-ds")
      .set({ description: "bench", tag: "v1", uuid: "u1" });
    const config = configSchema.parse({
      rateLimits: NO_RATE_LIMITS,
      projectId: PROJECT_ID,
      tokenSecret: "bench-secret-0123456789abcdef0123",
    });
    const app = createApp([rolesApi, datasetsApi], createRoot({ config, db, log: silent }));
    const server = await listen(app);
    const token = await signApiToken(config, "reader@example.org", {}, 0, Date.now());
    const auth = { authorization: `Bearer ${token}` };
    const get = async (path: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${server.url}${path}`, { headers });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`${path}: ${res.status}`);
    };
    await throughput(200, 10, () => get("/v2/roles", auth)); // warm-up
    await throughput(200, 10, () => get("/healthz"));
    const rolesRps = await throughput(3000, 20, () => get("/v2/roles", auth));
    const healthRps = await throughput(3000, 20, () => get("/healthz"));

    await timeEach(50, () => get("/v2/datasets/private-ds", auth));
    const apiMs = await timeEach(500, () => get("/v2/datasets/private-ds", auth));
    const rawMs = await timeEach(500, () => db.collection("clio_datasets").doc("private-ds").get());
    await server.close();
    return {
      "roles req/s (authenticated)": round(rolesRps, 0),
      "health req/s (no auth)": round(healthRps, 0),
      "roles / health throughput": round(rolesRps / healthRps),
      "GET /v2/datasets/{id} p50 ms": round(percentile(apiMs, 50)),
      "raw get() p50 ms": round(percentile(rawMs, 50)),
      "datasets/{id} / raw get() latency (p50)": round(percentile(apiMs, 50) / percentile(rawMs, 50)),
      "datasets/{id} / raw get() latency (p95)": round(percentile(apiMs, 95) / percentile(rawMs, 95)),
    };
  } finally {
    await emulator.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  console.table(await runFoundationBench());
  process.exit(0);
}
