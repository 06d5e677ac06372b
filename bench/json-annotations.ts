/**
 * Body annotations (`/v2/json-annotations`) at MANC scale, against its own Firestore emulator.
 * Records are seeded with a raw BulkWriter in clio's 2021–22 layout; every figure is a ratio to
 * the nearest raw Firestore operation measured in the same run:
 *
 * - cold start: the first request of an instance (loading the replica) vs a raw paged read of
 *   every HEAD document;
 * - `POST …/query` with 500 body ids vs a raw getAll of those 500 documents; a regex query vs the
 *   raw prefix range query that is its closest Firestore form; an `exists/1` query vs a raw
 *   `!= null` query (p50/p95, warm);
 * - `id-number` with 1,000 ids vs a raw getAll of 1,000;
 * - a 50-record write vs a raw 50-write batch;
 * - `/all` streamed vs the raw full read, with the process's peak RSS above idle while it streams
 *   (server and client share this process; the client discards what it reads).
 *
 *   npx tsx bench/json-annotations.ts [--records 200000] [--reps 30]
 */
import { pathToFileURL } from "node:url";
import { FieldPath, Timestamp, type Firestore } from "firebase-admin/firestore";
import { createJsonAnnotationsApi } from "../functions/src/api/json-annotations.js";
import { signApiToken } from "../functions/src/auth/tokens.js";
import { configSchema } from "../functions/src/config.js";
import { createApp } from "../functions/src/http/app.js";
import type { Logger } from "../functions/src/log.js";
import { createRoot } from "../functions/src/services/root.js";
import { firestore } from "../functions/src/store/firebase.js";
import { benchFirestore, listen, percentile, PROJECT_ID, round, timeEach, NO_RATE_LIMITS } from "./lib.js";

const silent: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const DATASET = "bench-ds";
const TYPES = [
  "LC4",
  "LC10",
  "LC12",
  "MBON01",
  "KCab",
  "DNa02",
  "AN05B",
  "IN08B",
  "T4a",
  "Mi1",
  "Tm3",
  "SA1",
];
const STATUSES = ["Anchor", "Roughly traced", "Traced", "Orphan", "Prelim Roughly traced"];
const FIRST_ID = 10_000_000_000;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

function collection(db: Firestore) {
  return db.collection("clio_annotations_global").doc("neurons").collection(DATASET);
}

/** A MANC-like record: a dozen fields with stamps. */
function record(i: number, t: Timestamp): Record<string, unknown> {
  const type = TYPES[i % TYPES.length]!;
  const r: Record<string, unknown> = {
    bodyid: FIRST_ID + i * 3,
    type,
    instance: `${type}_${i % 2 ? "L" : "R"}`,
    status: STATUSES[i % STATUSES.length],
    class: i % 4 ? "intrinsic" : "sensory",
    soma_side: i % 2 ? "L" : "R",
    position: [i % 40_000, (i * 7) % 40_000, (i * 13) % 60_000],
    tags: i % 3 ? ["vnc"] : ["vnc", "review"],
  };
  if (i % 5 === 0) r.notes = `note ${i}`;
  for (const f of Object.keys(r)) {
    if (f === "bodyid") continue;
    r[`${f}_user`] = "importer@example.org";
    r[`${f}_time`] = "2024-01-01T00:00:00Z";
  }
  return {
    ...r,
    _head: true,
    _version: 1_000_000,
    _timestamp: t.seconds,
    _user: "importer@example.org",
    _updated: t,
  };
}

async function seed(db: Firestore, n: number): Promise<number> {
  const started = performance.now();
  const writer = db.bulkWriter();
  const t = Timestamp.fromMillis(Date.now() - 60_000);
  for (let i = 0; i < n; i++) void writer.set(collection(db).doc(`id${FIRST_ID + i * 3}`), record(i, t));
  await writer.close();
  return (performance.now() - started) / 1000;
}

async function rawReadAll(db: Firestore): Promise<number> {
  let last: string | undefined;
  let count = 0;
  for (;;) {
    let q = collection(db).where("_head", "==", true).orderBy(FieldPath.documentId()).limit(10_000);
    if (last) q = q.startAfter(last);
    const snap = await q.get();
    count += snap.size;
    if (snap.size < 10_000) return count;
    last = snap.docs[snap.size - 1]!.id;
  }
}

const progress = (line: string) => process.stderr.write(`json-annotations bench: ${line}\n`);
const stats = (xs: number[]) => ({ p50: percentile(xs, 50), p95: percentile(xs, 95) });

export async function runJsonAnnotationsBench(): Promise<Record<string, number | string>> {
  const n = arg("records", 200_000);
  const reps = arg("reps", 30);
  const emulator = await benchFirestore();
  const out: Record<string, number | string> = { records: n };
  try {
    const db = firestore();
    await db
      .collection("clio_users")
      .doc("bench@example.org")
      .set({ datasets: { [DATASET]: ["clio_write"] } });
    await db.collection("clio_datasets").doc(DATASET).set({ description: "bench", tag: "v1.0", uuid: "u1" });
    progress(`seeding ${n} records`);
    out["seed (BulkWriter) s"] = round(await seed(db, n), 1);
    progress("cold start");

    const config = configSchema.parse({
      rateLimits: NO_RATE_LIMITS,
      projectId: PROJECT_ID,
      tokenSecret: "bench-secret-0123456789abcdef0123",
    });
    const api = createJsonAnnotationsApi();
    const server = await listen(createApp(api, createRoot({ config, db, log: silent })));
    const token = await signApiToken(config, "bench@example.org", {}, 0, Date.now());
    const base = `${server.url}/v2/json-annotations/${DATASET}/neurons`;
    const request = async (method: string, path: string, body?: string) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body,
      });
      const buf = await res.arrayBuffer();
      if (!res.ok)
        throw new Error(`${method} ${path}: ${res.status} ${Buffer.from(buf).toString().slice(0, 200)}`);
      return buf.byteLength;
    };

    // Cold start: the first request loads the replica.
    // The emulator's first query over a collection is slower than later ones: one untimed raw
    // read first, then the replica load and a raw read, each timed.
    await rawReadAll(db);
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const coldStart = performance.now();
    await request("GET", `/id-number/${FIRST_ID}`);
    const coldS = (performance.now() - coldStart) / 1000;
    global.gc?.();
    out["replica heap MB"] = round((process.memoryUsage().heapUsed - heapBefore) / 2 ** 20, 1);
    const rawAllStart = performance.now();
    await rawReadAll(db);
    const rawAllS = (performance.now() - rawAllStart) / 1000;
    out["cold start (replica load) s"] = round(coldS, 2);
    out["raw read of every HEAD s"] = round(rawAllS, 2);
    out["cold start / raw full read"] = round(coldS / rawAllS);

    const ids = (count: number, offset: number) =>
      Array.from({ length: count }, (_, i) => FIRST_ID + ((offset + i * 97) % n) * 3);
    const refs = (list: number[]) => list.map((id) => collection(db).doc(`id${id}`));

    progress("queries");
    const in500 = ids(500, 11);
    await timeEach(5, () => request("POST", "/query", JSON.stringify({ bodyid: in500 })));
    const apiIn = stats(
      await timeEach(reps, () => request("POST", "/query", JSON.stringify({ bodyid: in500 }))),
    );
    const rawIn = stats(await timeEach(reps, () => db.getAll(...refs(in500))));
    out["500-id query p50/p95 ms"] = `${round(apiIn.p50, 1)} / ${round(apiIn.p95, 1)}`;
    out["raw getAll(500) p50/p95 ms"] = `${round(rawIn.p50, 1)} / ${round(rawIn.p95, 1)}`;
    out["500-id query / raw (p50, p95)"] = `${round(apiIn.p50 / rawIn.p50)}, ${round(apiIn.p95 / rawIn.p95)}`;

    const regexReps = Math.max(5, Math.floor(reps / 3));
    const apiRe = stats(
      await timeEach(regexReps, () => request("POST", "/query", JSON.stringify({ type: "re/^LC1" }))),
    );
    const rawRe = stats(
      await timeEach(regexReps, () =>
        collection(db).where("type", ">=", "LC1").where("type", "<", "LC2").get(),
      ),
    );
    out["regex query p50/p95 ms"] = `${round(apiRe.p50, 1)} / ${round(apiRe.p95, 1)}`;
    out["raw prefix range query p50/p95 ms"] = `${round(rawRe.p50, 1)} / ${round(rawRe.p95, 1)}`;
    out["regex / raw range (p50, p95)"] = `${round(apiRe.p50 / rawRe.p50)}, ${round(apiRe.p95 / rawRe.p95)}`;

    const apiEx = stats(
      await timeEach(regexReps, () => request("POST", "/query", JSON.stringify({ notes: "exists/1" }))),
    );
    const rawEx = stats(await timeEach(regexReps, () => collection(db).where("notes", "!=", null).get()));
    out["exists query p50/p95 ms"] = `${round(apiEx.p50, 1)} / ${round(apiEx.p95, 1)}`;
    out["raw != null query p50/p95 ms"] = `${round(rawEx.p50, 1)} / ${round(rawEx.p95, 1)}`;
    out["exists / raw (p50, p95)"] = `${round(apiEx.p50 / rawEx.p50)}, ${round(apiEx.p95 / rawEx.p95)}`;

    progress("id-number and writes");
    const id1000 = ids(1000, 5);
    const apiIds = stats(await timeEach(reps, () => request("GET", `/id-number/${id1000.join(",")}`)));
    const rawIds = stats(await timeEach(reps, () => db.getAll(...refs(id1000))));
    out["id-number 1,000 p50 ms"] = round(apiIds.p50, 1);
    out["raw getAll(1000) p50 ms"] = round(rawIds.p50, 1);
    out["id-number / raw getAll (p50)"] = round(apiIds.p50 / rawIds.p50);

    let round50 = 0;
    const apiWrite = await timeEach(Math.max(5, Math.floor(reps / 2)), () => {
      round50 += 1;
      const list = ids(50, round50 * 1000).map((bodyid) => ({ bodyid, status: `s${round50}` }));
      return request("POST", "", JSON.stringify(list));
    });
    let rawRound = 0;
    const rawWrite = await timeEach(Math.max(5, Math.floor(reps / 2)), () => {
      rawRound += 1;
      const batch = db.batch();
      for (const ref of refs(ids(50, 500 + rawRound * 1000)))
        batch.set(ref, { status: `r${rawRound}` }, { merge: true });
      return batch.commit();
    });
    out["50-record write p50 ms"] = round(percentile(apiWrite, 50), 1);
    out["raw 50-write batch p50 ms"] = round(percentile(rawWrite, 50), 1);
    out["50-record write / raw batch (p50)"] = round(percentile(apiWrite, 50) / percentile(rawWrite, 50));

    progress("/all");
    global.gc?.();
    const idle = process.memoryUsage().rss;
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const allStart = performance.now();
    const bytes = await request("GET", "/all?show=all");
    const allS = (performance.now() - allStart) / 1000;
    clearInterval(sampler);
    out["/all?show=all s"] = round(allS, 2);
    out["/all MB"] = round(bytes / 2 ** 20, 1);
    out["/all / raw full read"] = round(allS / rawAllS);
    out["peak RSS above idle during /all MB"] = round((peak - idle) / 2 ** 20, 1);
    out["RSS with the replica loaded MB"] = round(idle / 2 ** 20, 1);

    await api.close();
    await server.close();
    return out;
  } finally {
    await emulator.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  console.table(await runJsonAnnotationsBench());
  process.exit(0);
}
