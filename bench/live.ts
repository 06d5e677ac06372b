/**
 * Live updates (issue 14): how long a browser listener waits to see a change. A client-SDK
 * session signed in through POST /v2/server/firebase-token listens, under firestore.rules, to a
 * dataset's json-annotations; the figure is from the start of a write through the HTTP API to the
 * listener's event, against a raw Admin SDK write to the same collection seen by the same
 * listener, interleaved in the same run (the ratio is the API's and the rules' share).
 *
 *   npx tsx bench/live.ts [--reps 40]
 */
import path from "node:path";
import { decodeJwt } from "jose";
import { initializeApp } from "firebase/app";
import { collection, connectFirestoreEmulator, getFirestore, onSnapshot } from "firebase/firestore";
import { apiGroups } from "../functions/src/api/groups.js";
import { signApiToken } from "../functions/src/auth/tokens.js";
import { configSchema } from "../functions/src/config.js";
import { createApp } from "../functions/src/http/app.js";
import type { Logger } from "../functions/src/log.js";
import { createRoot } from "../functions/src/services/root.js";
import { firestore } from "../functions/src/store/firebase.js";
import { startFirestoreEmulator } from "../scripts/lib/firestore-emulator.js";
import { listen, NO_RATE_LIMITS, percentile, PROJECT_ID, round } from "./lib.js";

const silent: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const DATASET = "live-ds";
const EMAIL = "bench@example.org";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const progress = (line: string) => process.stderr.write(`live bench: ${line}\n`);

export async function runLiveBench(): Promise<Record<string, number | string>> {
  const reps = arg("reps", 40);
  process.env.METADATA_SERVER_DETECTION = "none";
  process.env.GCLOUD_PROJECT = PROJECT_ID;
  const emulator = await startFirestoreEmulator({
    projectId: PROJECT_ID,
    rules: path.join(import.meta.dirname, "..", "firestore.rules"),
  });
  process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
  // Custom tokens as the Auth emulator's (unsigned; no Auth emulator is needed to sign them).
  process.env.FIREBASE_AUTH_EMULATOR_HOST = "127.0.0.1:9099";
  const out: Record<string, number | string> = { reps };
  try {
    const db = firestore();
    await db.doc(`clio_users/${EMAIL}`).set({ datasets: { [DATASET]: ["clio_write"] } });
    await db.doc(`clio_datasets/${DATASET}`).set({ description: "bench", tag: "v1.0", uuid: "u1" });
    const config = configSchema.parse({
      rateLimits: NO_RATE_LIMITS,
      projectId: PROJECT_ID,
      tokenSecret: "bench-secret-0123456789abcdef0123",
    });
    const server = await listen(createApp(apiGroups, createRoot({ config, db, log: silent })));
    const token = await signApiToken(config, EMAIL, {}, 0, Date.now());
    const post = async (p: string, body: unknown) => {
      const res = await fetch(`${server.url}${p}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`POST ${p}: ${res.status} ${text.slice(0, 200)}`);
      return text;
    };

    const signInStart = performance.now();
    const custom = JSON.parse(await post("/v2/server/firebase-token", {})) as { token: string; uid: string };
    out["firebase-token exchange ms"] = round(performance.now() - signInStart, 1);
    const { claims } = decodeJwt(custom.token) as { claims: object };

    // The browser's side: a client-SDK session with the token's claims, listening to the dataset.
    const app = initializeApp({ projectId: PROJECT_ID, apiKey: "local" }, "live-bench");
    const client = getFirestore(app);
    const [host, port] = emulator.host.split(":");
    connectFirestoreEmulator(client, host!, Number(port), { mockUserToken: { sub: custom.uid, ...claims } });
    const waiting = new Map<string, (at: number) => void>();
    let ready!: () => void;
    const first = new Promise<void>((r) => (ready = r));
    const unsubscribe = onSnapshot(
      collection(client, `clio_annotations_global/neurons/${DATASET}`),
      (snap) => {
        const at = performance.now();
        for (const change of snap.docChanges()) {
          const key = `${change.doc.id}:${String(change.doc.get("seq"))}`;
          waiting.get(key)?.(at);
          waiting.delete(key);
        }
        ready();
      },
      (err) => {
        throw err;
      },
    );
    await first;
    const seen = (docId: string, seq: number) =>
      new Promise<number>((resolve) => waiting.set(`${docId}:${seq}`, resolve));

    const apiMs: number[] = [];
    const rawMs: number[] = [];
    const rawRef = db.doc(`clio_annotations_global/neurons/${DATASET}/id2`);
    progress(`${reps} writes each way`);
    for (let i = 0; i < reps + 3; i++) {
      const viaApi = seen("id1", i);
      const t = performance.now();
      await post(`/v2/json-annotations/${DATASET}/neurons`, { bodyid: 1, seq: i });
      const apiAt = await viaApi;
      const viaRaw = seen("id2", i);
      const rawStart = performance.now();
      await rawRef.set({ bodyid: 2, seq: i, _head: true });
      const rawAt = await viaRaw;
      // The first writes warm the emulator's and the SDK's paths; they are not counted.
      if (i >= 3) {
        apiMs.push(apiAt - t);
        rawMs.push(rawAt - rawStart);
      }
    }
    unsubscribe();
    await server.close();
    const s = (xs: number[]) => ({ p50: percentile(xs, 50), p95: percentile(xs, 95) });
    const a = s(apiMs);
    const r = s(rawMs);
    out["API write → listener event p50 ms"] = round(a.p50, 1);
    out["API write → listener event p95 ms"] = round(a.p95, 1);
    out["raw Admin SDK write → listener event p50 ms"] = round(r.p50, 1);
    out["raw Admin SDK write → listener event p95 ms"] = round(r.p95, 1);
    out["API / raw p50"] = round(a.p50 / r.p50);
    out["API / raw p95"] = round(a.p95 / r.p95);
  } finally {
    await emulator.stop();
  }
  return out;
}

const result = await runLiveBench();
console.table(result);
process.exit(0);
