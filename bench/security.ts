/**
 * Security overhead (issue 12): authenticated GET /v2/roles through an API key with the rate
 * limiter on, against the same request with an API token and no limiter (the path before keys
 * and limits existed); and authenticated /v2/roles against the unauthenticated health route.
 */
import { pathToFileURL } from "node:url";
import { rolesApi } from "../functions/src/api/roles.js";
import { keysApi } from "../functions/src/api/keys.js";
import { configSchema } from "../functions/src/config.js";
import { createApp } from "../functions/src/http/app.js";
import { createRoot } from "../functions/src/services/root.js";
import type { Logger } from "../functions/src/log.js";
import { signApiToken } from "../functions/src/auth/tokens.js";
import { firestore } from "../functions/src/store/firebase.js";
import { benchFirestore, listen, PROJECT_ID, round, throughput } from "./lib.js";

const silent: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const SECRET = "bench-secret-0123456789abcdef0123";

export async function runSecurityBench(): Promise<Record<string, number | string>> {
  const emulator = await benchFirestore();
  try {
    const db = firestore();
    await db
      .collection("clio_users")
      .doc("reader@example.org")
      .set({ datasets: { "private-ds": ["clio_general"] } });
    const plainConfig = configSchema.parse({
      projectId: PROJECT_ID,
      tokenSecret: SECRET,
      rateLimits: "read=0,write=0,anonymous=0,costly=0",
    });
    // Limits high enough never to refuse during the run, so every request pays the full check.
    const limitedConfig = configSchema.parse({
      projectId: PROJECT_ID,
      tokenSecret: SECRET,
      rateLimits: "read=100000000,write=100000000,anonymous=100000000,costly=100",
    });
    const plain = await listen(createApp([rolesApi], createRoot({ config: plainConfig, db, log: silent })));
    const limited = await listen(
      createApp([rolesApi, keysApi], createRoot({ config: limitedConfig, db, log: silent })),
    );
    const token = await signApiToken(plainConfig, "reader@example.org", {}, 0, Date.now());
    const minted = await fetch(`${limited.url}/v2/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "bench", datasets: ["private-ds"] }),
    });
    const key = ((await minted.json()) as { key: string }).key;

    const get = async (base: string, path: string, bearer?: string) => {
      const res = await fetch(
        `${base}${path}`,
        bearer ? { headers: { authorization: `Bearer ${bearer}` } } : {},
      );
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`${path}: ${res.status}`);
    };
    const runs = {
      token: () => get(plain.url, "/v2/roles", token),
      key: () => get(limited.url, "/v2/roles", key),
      health: () => get(plain.url, "/healthz"),
    };
    for (const fn of Object.values(runs)) await throughput(300, 10, fn); // warm-up
    // Interleaved rounds, best of each, so drift on a shared machine hits every variant alike.
    // Besides wall-clock throughput, the process's CPU time per request (client and server share
    // the process, and the client's work is the same for every variant): on a loaded machine it
    // is the steadier measure of what the server does per request.
    const best = { token: 0, key: 0, health: 0 };
    const cpu = { token: Infinity, key: Infinity, health: Infinity };
    for (let i = 0; i < 4; i++) {
      for (const [name, fn] of Object.entries(runs) as [keyof typeof runs, () => Promise<void>][]) {
        const before = process.cpuUsage();
        best[name] = Math.max(best[name], await throughput(1500, 20, fn));
        const used = process.cpuUsage(before);
        cpu[name] = Math.min(cpu[name], (used.user + used.system) / 1500);
      }
    }
    await plain.close();
    await limited.close();
    return {
      "roles req/s (API token, no limiter)": round(best.token, 0),
      "roles req/s (API key + rate limiter)": round(best.key, 0),
      "health req/s (no auth)": round(best.health, 0),
      "CPU µs/request: roles, API token": round(cpu.token, 0),
      "CPU µs/request: roles, API key + limiter": round(cpu.key, 0),
      "CPU µs/request: health": round(cpu.health, 0),
      "key + limiter overhead, wall (vs API token; aim <= 1.1)": round(best.token / best.key),
      "key + limiter overhead, CPU (vs API token; aim <= 1.1)": round(cpu.key / cpu.token),
      "roles / health throughput, wall (aim >= 0.85)": round(best.token / best.health),
      "roles / health, CPU (health CPU / roles CPU)": round(cpu.health / cpu.token),
    };
  } finally {
    await emulator.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  console.table(await runSecurityBench());
  process.exit(0);
}
