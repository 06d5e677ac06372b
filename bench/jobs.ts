/**
 * Jobs (issue 14): the Firestore writes one job costs, and the wall time of a catalog bundle as a
 * job (202, run, result, download of the signed URL) vs the synchronous streamed download of the
 * same selection, in one run against the Firestore emulator, the loopback Cloud Storage (with a
 * signing key) and a local file host standing in for DANDI (its politeness: 100 ms spacing).
 *
 *   npx tsx bench/jobs.ts
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { catalogApi } from "../functions/src/api/catalog.js";
import { jobsApi } from "../functions/src/api/jobs.js";
import { signApiToken } from "../functions/src/auth/tokens.js";
import { createApp } from "../functions/src/http/app.js";
import { CATALOG_COLLECTIONS, catalogDocId, type CatalogRecord } from "../functions/src/schemas/catalog.js";
import { JOBS_COLLECTION, type Job, type JobAccepted } from "../functions/src/schemas/jobs.js";
import { jobKinds } from "../functions/src/services/jobs/kinds.js";
import { runJob } from "../functions/src/services/jobs/runner.js";
import { createRoot } from "../functions/src/services/root.js";
import { firestore } from "../functions/src/store/firebase.js";
import { record } from "../functions/test/catalog/record.js";
import { benchFirestore, benchStorage, listen, round, silent } from "./lib.js";

const READER = "reader@example.org";
const RECORDS = 10;
const FILES_PER_RECORD = 3;
const FILE_BYTES = 256 * 1024;
const ROUNDS = 3;

function dandiRecord(i: number, host: string): CatalogRecord {
  return record({
    id: `dandi:00${1000 + i}`,
    kind: "dataset",
    name: `bench dandiset ${i}`,
    files: Array.from({ length: FILES_PER_RECORD }, (_, f) => ({
      url: `${host}/files/${i}-${f}.nwb`,
      format: "nwb",
      name: `${i}-${f}.nwb`,
      size: FILE_BYTES,
    })),
    lastSeenRun: "bench",
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function runJobsBench(): Promise<Record<string, number | string>> {
  const emulator = await benchFirestore();
  const bench = await benchStorage("jobs");
  const body = Buffer.alloc(FILE_BYTES, 7);
  const files = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": body.length });
    res.end(body);
  });
  await new Promise<void>((r) => files.listen(0, "127.0.0.1", r));
  const fileHost = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  try {
    const db = firestore();
    await db.collection("clio_users").doc(READER).set({ datasets: {} });
    const records = Array.from({ length: RECORDS }, (_, i) => dandiRecord(i, fileHost));
    const batch = db.batch();
    for (const r of records) batch.set(db.collection(CATALOG_COLLECTIONS.records).doc(catalogDocId(r.id)), r);
    await batch.commit();
    const config = bench.config({
      catalogBucket: "bench-bundles",
      catalogIndexCheckSeconds: 0,
      dandiBaseUrl: fileHost,
      // The other sources elsewhere, so the file host gets DANDI's politeness.
      neuromorphoBaseUrl: "http://127.0.0.1:1",
      hippocampomeBaseUrl: "http://127.0.0.1:2",
      modeldbBaseUrl: "http://127.0.0.1:3",
      catalogDownloadMaxBytes: 1024 * 1024 * 1024,
    });
    const root = createRoot({ config, db, log: silent });
    const server = await listen(createApp([jobsApi, catalogApi], root));
    const token = await signApiToken(config, READER, {}, 0, Date.now());
    const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const selection = JSON.stringify({ ids: records.map((r) => r.id) });

    const sync = async () => {
      const t = performance.now();
      const res = await fetch(`${server.url}/v2/catalog/download`, {
        method: "POST",
        headers: auth,
        body: selection,
      });
      const bytes = (await res.arrayBuffer()).byteLength;
      if (res.status !== 200) throw new Error(`sync download: ${res.status}`);
      return { ms: performance.now() - t, bytes };
    };

    // Every version of the job document a listener receives: the writes a browser would see.
    const asJob = async () => {
      const t = performance.now();
      const res = await fetch(`${server.url}/v2/catalog/download?async=true`, {
        method: "POST",
        headers: auth,
        body: selection,
      });
      const accepted = (await res.json()) as JobAccepted;
      if (res.status !== 202) throw new Error(`async download: ${res.status}`);
      const acceptedMs = performance.now() - t;
      let seen = 0;
      const unsubscribe = db
        .collection(JOBS_COLLECTION)
        .doc(accepted.job.id)
        .onSnapshot(() => void (seen += 1));
      // What the trigger does; here in process, so the figure has no trigger latency in it.
      const outcome = await runJob(root, jobKinds(root), accepted.job.id);
      const job = (await (
        await fetch(`${server.url}/v2/jobs/${accepted.job.id}`, { headers: auth })
      ).json()) as Job;
      if (job.state !== "done") throw new Error(`job ended ${job.state}: ${job.error}`);
      const zip = await fetch(String(job.result?.url));
      const bytes = (await zip.arrayBuffer()).byteLength;
      const ms = performance.now() - t;
      await new Promise((r) => setTimeout(r, 300));
      unsubscribe();
      // +1: the document's creation by the route.
      return { ms, acceptedMs, bytes, writes: outcome.writes + 1, seen };
    };

    await sync(); // warm the index, the clients and the file host's connections
    const syncRuns: number[] = [];
    const jobRuns: number[] = [];
    const accepted: number[] = [];
    let last: Awaited<ReturnType<typeof asJob>> | undefined;
    let syncBytes = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const s = await sync();
      syncRuns.push(s.ms);
      syncBytes = s.bytes;
      last = await asJob();
      jobRuns.push(last.ms);
      accepted.push(last.acceptedMs);
    }
    const items = RECORDS * FILES_PER_RECORD;
    const out = {
      files: items,
      bundleBytes: last!.bytes,
      syncZipBytes: syncBytes,
      jobWrites: last!.writes,
      // One write per item (no throttle) plus create, running and final.
      unthrottledWrites: items + 3,
      writesRatio: round(last!.writes / (items + 3), 3),
      listenerEvents: last!.seen,
      syncDownloadMsMedian: round(median(syncRuns), 0),
      jobEndToEndMsMedian: round(median(jobRuns), 0),
      jobVsSyncRatio: round(median(jobRuns) / median(syncRuns), 2),
      jobAcceptedMsMedian: round(median(accepted), 1),
    };
    await server.close();
    return out;
  } finally {
    await new Promise((r) => files.close(r));
    await bench.close();
    await emulator.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const figures = await runJobsBench();
  console.log(
    "jobs: Firestore writes of one bundle job (create + running + ≤1 progress write/s + final) vs one write per file;",
  );
  console.log(
    "bundle as a job (202 → run → GET → download the signed URL) vs the synchronous streamed download",
  );
  console.table(figures);
  process.exit(0);
}
