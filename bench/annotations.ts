/**
 * Annotations benchmark, against its own Firestore emulator:
 *
 * - `GET /v2/annotations/{ds}` over 100,000 annotations of one user, unpaged (so streamed), served
 *   by the real express app in a child process, timed against raw firebase-admin paged reads of
 *   the same collection (in pages of the size the API queries with while streaming); and the
 *   server's peak RSS and heap above its idle baseline while it streams, which shows whether
 *   memory stays bounded.
 * - A 500-annotation list `POST`, timed against one raw 500-write batch.
 *
 * Times are medians over interleaved repetitions; figures are ratios, never absolute targets.
 *
 *   npx tsx bench/annotations.ts [--annotations 100000] [--reps 2]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { deleteApp, initializeApp } from "firebase-admin/app";
import { FieldPath, getFirestore, type Firestore } from "firebase-admin/firestore";
import { SignJWT } from "jose";
import { STREAM_READ_AHEAD } from "../functions/src/services/annotations.js";
import { startFirestoreEmulator } from "../scripts/lib/firestore-emulator.js";
import { NO_RATE_LIMITS } from "./lib.js";

const ROLE_ENV = "NEUROFIRE_ANNOTATIONS_BENCH_ROLE";
const SECRET_ENV = "NEUROFIRE_ANNOTATIONS_BENCH_SECRET";
const PROJECT = "demo-neurofire";
const DATASET = "bench-ds";
const USER = "bench@example.org";
const RAW_USER = "raw@example.org";
/** The raw reads use the page size the API queries Firestore with while streaming. */
const PAGE = STREAM_READ_AHEAD;

export interface AnnotationsBenchOptions {
  annotations?: number | undefined;
  reps?: number | undefined;
  postReps?: number | undefined;
  /** Called with a line at each phase (the direct run prints them to stderr). */
  progress?: (line: string) => void;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const round = (x: number, digits = 3) => Number(x.toFixed(digits));
const mb = (bytes: number) => round(bytes / 2 ** 20, 1);

function annotationsCollection(db: Firestore, owner: string) {
  return db.collection("clio_annotations_v2").doc(DATASET).collection(owner);
}

function benchAnnotation(i: number) {
  return {
    kind: "point",
    pos: [i % 1000, Math.floor(i / 1000), 7],
    title: `annotation ${i}`,
    tags: ["bench"],
    prop: { confidence: (i % 100) / 100 },
  };
}

/** Raw firebase-admin: the same documents, read page by page in key order. */
async function rawRead(db: Firestore): Promise<number> {
  let after: string | undefined;
  let count = 0;
  for (;;) {
    let q = annotationsCollection(db, USER).orderBy(FieldPath.documentId()).limit(PAGE);
    if (after !== undefined) q = q.startAfter(after);
    const snap = await q.get();
    for (const doc of snap.docs) if (doc.data()) count += 1;
    if (snap.size < PAGE) return count;
    after = snap.docs[snap.size - 1]!.id;
  }
}

/** Reads a response to the end without keeping it: its size and how many annotations it held. */
async function drain(res: Response): Promise<{ bytes: number; items: number }> {
  const marker = '"key":"';
  const decoder = new TextDecoder();
  let bytes = 0;
  let items = 0;
  let carry = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.byteLength;
    const text = carry + decoder.decode(chunk, { stream: true });
    for (let i = text.indexOf(marker); i >= 0; i = text.indexOf(marker, i + marker.length)) items += 1;
    carry = text.slice(-(marker.length - 1));
  }
  return { bytes, items };
}

interface ServerChild {
  url: string;
  process: ChildProcess;
}

/** The API in its own process, so its memory is measured alone. */
async function startServerChild(emulatorHost: string, secret: string): Promise<ServerChild> {
  const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", fileURLToPath(import.meta.url)], {
    env: {
      ...process.env,
      [ROLE_ENV]: "server",
      [SECRET_ENV]: secret,
      FIRESTORE_EMULATOR_HOST: emulatorHost,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
    lines.on("line", (line) => {
      const match = /^PORT (\d+)$/.exec(line);
      if (match) resolve(Number(match[1]));
    });
  });
  return { url: `http://127.0.0.1:${port}`, process: child };
}

interface Memory {
  rss: number;
  peakRss: number;
  heap: number;
  peakHeap: number;
}

async function memory(url: string, reset = false): Promise<Memory> {
  const res = await fetch(`${url}/__bench/memory${reset ? "?reset=1" : ""}`);
  return (await res.json()) as Memory;
}

export async function runAnnotationsBench(
  options: AnnotationsBenchOptions = {},
): Promise<Record<string, number | string>> {
  const n = options.annotations ?? 100_000;
  const reps = options.reps ?? 2;
  const postReps = options.postReps ?? 7;
  const started = performance.now();
  const progress = (line: string) =>
    options.progress?.(`[${round((performance.now() - started) / 1000, 1)} s] ${line}`);
  const saved = {
    host: process.env.FIRESTORE_EMULATOR_HOST,
    project: process.env.GCLOUD_PROJECT,
    metadata: process.env.METADATA_SERVER_DETECTION,
  };
  process.env.METADATA_SERVER_DETECTION = "none";
  process.env.GCLOUD_PROJECT = PROJECT;
  const emulator = await startFirestoreEmulator({ projectId: PROJECT });
  process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
  // A named app of our own, so a bench run next to others never reuses their emulator.
  const app = initializeApp({ projectId: PROJECT }, `annotations-bench-${process.pid}-${Date.now()}`);
  const db = getFirestore(app);
  const secret = `annotations-bench-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  let server: ServerChild | undefined;
  try {
    await db.doc(`clio_users/${USER}`).set({ datasets: { [DATASET]: ["clio_general"] } });
    await db.doc(`clio_datasets/${DATASET}`).set({ description: "annotations benchmark" });
    const seedStart = performance.now();
    const writer = db.bulkWriter({ throttling: false });
    for (let i = 0; i < n; i++) {
      const a = benchAnnotation(i);
      void writer.set(annotationsCollection(db, USER).doc(`Pt${a.pos.join("_")}`), { ...a, user: USER });
    }
    await writer.close();
    const seedMs = performance.now() - seedStart;
    progress(`seeded ${n} annotations`);

    server = await startServerChild(emulator.host, secret);
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ email: USER })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer("flyem-clio-store")
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(new TextEncoder().encode(secret));
    const headers = { authorization: `Bearer ${token}` };
    const getUrl = `${server.url}/v2/annotations/${DATASET}`;

    // The idle baseline: after one small request (modules loaded, caches filled) and a GC.
    const warm = await fetch(`${getUrl}?limit=10`, { headers });
    if (warm.status !== 200) throw new Error(`GET answered ${warm.status}`);
    const idle = await memory(server.url, true);

    const apiMs: number[] = [];
    const rawMs: number[] = [];
    let responseBytes = 0;
    const timeRaw = async (r: number) => {
      const t = performance.now();
      const read = await rawRead(db);
      rawMs.push(performance.now() - t);
      if (read !== n) throw new Error(`raw reads found ${read} annotations; expected ${n}`);
      progress(`raw read ${r + 1}/${reps}`);
    };
    const timeApi = async (r: number) => {
      const t = performance.now();
      const res = await fetch(getUrl, { headers });
      const got = await drain(res);
      apiMs.push(performance.now() - t);
      if (res.status !== 200 || got.items !== n) {
        throw new Error(`GET answered ${res.status} with ${got.items} annotations; expected ${n}`);
      }
      responseBytes = got.bytes;
      progress(`API GET ${r + 1}/${reps}`);
    };
    // Alternating which goes first, so neither always pays for a cold emulator.
    for (let r = 0; r < reps; r++) {
      if (r % 2 === 0) {
        await timeRaw(r);
        await timeApi(r);
      } else {
        await timeApi(r);
        await timeRaw(r);
      }
    }
    const busy = await memory(server.url);

    // POST of a 500-annotation list vs one raw 500-write batch.
    const list = Array.from({ length: 500 }, (_, i) => benchAnnotation(n + i));
    const postBody = JSON.stringify(list);
    const postOnce = async () => {
      const t = performance.now();
      const res = await fetch(getUrl, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: postBody,
      });
      const body = (await res.json()) as { keys?: string[] };
      if (res.status !== 200 || body.keys?.length !== 500)
        throw new Error(`list POST answered ${res.status}`);
      return performance.now() - t;
    };
    const batchOnce = async () => {
      const t = performance.now();
      const batch = db.batch();
      for (const a of list)
        batch.set(annotationsCollection(db, RAW_USER).doc(`Pt${a.pos.join("_")}`), { ...a, user: RAW_USER });
      await batch.commit();
      return performance.now() - t;
    };
    await postOnce();
    await batchOnce();
    const postMs: number[] = [];
    const batchMs: number[] = [];
    for (let r = 0; r < postReps; r++) {
      postMs.push(await postOnce());
      batchMs.push(await batchOnce());
    }
    progress("list POSTs done");
    const stored = (await annotationsCollection(db, USER).count().get()).data().count;
    if (stored !== n + 500)
      throw new Error(`expected ${n + 500} annotations after the POSTs, found ${stored}`);

    return {
      annotations: n,
      seed_bulkwriter_s: round(seedMs / 1000, 1),
      get_api_median_ms: round(median(apiMs), 0),
      get_raw_paged_median_ms: round(median(rawMs), 0),
      get_api_over_raw: round(median(apiMs) / median(rawMs), 2),
      get_response_mb: mb(responseBytes),
      get_server_idle_rss_mb: mb(idle.rss),
      get_server_peak_rss_above_idle_mb: mb(busy.peakRss - idle.rss),
      get_server_peak_heap_above_idle_mb: mb(busy.peakHeap - idle.heap),
      post500_api_median_ms: round(median(postMs), 1),
      post500_raw_batch_median_ms: round(median(batchMs), 1),
      post500_api_over_raw_batch: round(median(postMs) / median(batchMs), 2),
      reps: `${reps} GET, ${postReps} POST`,
    };
  } finally {
    server?.process.kill("SIGTERM");
    await deleteApp(app);
    await emulator.stop();
    for (const [key, value] of [
      ["FIRESTORE_EMULATOR_HOST", saved.host],
      ["GCLOUD_PROJECT", saved.project],
      ["METADATA_SERVER_DETECTION", saved.metadata],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

/**
 * The child: the annotations API as deployed (createApp + real deps), plus an endpoint that
 * reports the process's RSS, sampled every 5 ms, and resets its peak after a GC.
 */
async function runServer(): Promise<void> {
  const [{ annotationsApi }, { createApp }, { createRoot }, { configSchema }] = await Promise.all([
    import("../functions/src/api/annotations.js"),
    import("../functions/src/http/app.js"),
    import("../functions/src/services/root.js"),
    import("../functions/src/config.js"),
  ]);
  const config = configSchema.parse({
    rateLimits: NO_RATE_LIMITS,
    // The bench user already holds the 100,000 seeded annotations, the default cap.
    userStorageCaps: "annotations=1000000",
    projectId: PROJECT,
    tokenSecret: process.env[SECRET_ENV],
  });
  const quiet = {
    info: () => {},
    warn: () => {},
    error: (message: string) => process.stderr.write(`${message}\n`),
  };
  const app = createApp(annotationsApi, createRoot({ config, log: quiet }));
  let peakRss = 0;
  let peakHeap = 0;
  const sample = () => {
    const { rss, heapUsed } = process.memoryUsage();
    peakRss = Math.max(peakRss, rss);
    peakHeap = Math.max(peakHeap, heapUsed);
    return { rss, heap: heapUsed };
  };
  setInterval(sample, 5).unref();
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith("/__bench/memory")) {
      if (req.url.includes("reset=1")) {
        (globalThis as { gc?: () => void }).gc?.();
        peakRss = 0;
        peakHeap = 0;
      }
      const now = sample();
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ ...now, peakRss, peakHeap }));
      return;
    }
    app(req, res);
  });
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`PORT ${(server.address() as AddressInfo).port}\n`);
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.env[ROLE_ENV] === "server") {
    await runServer();
  } else {
    const arg = (name: string) => {
      const i = process.argv.indexOf(`--${name}`);
      return i > 0 ? Number(process.argv[i + 1]) : undefined;
    };
    const started = performance.now();
    const result = await runAnnotationsBench({
      annotations: arg("annotations"),
      reps: arg("reps"),
      progress: (line) => process.stderr.write(`${line}\n`),
    });
    console.table(result);
    console.log(`annotations bench took ${round((performance.now() - started) / 1000, 1)} s`);
  }
}
