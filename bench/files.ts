/**
 * Files: issuing a signed URL (`GET /v2/files/{ds}/{path}?signed=json`: auth, permission, object
 * metadata, V4 signing) against the Firestore permission read alone (a raw get() of the user's
 * document on the same emulator); and sequential 1 MiB range reads of the seed recording through
 * a signed URL on the loopback storage server against the same reads from a plain node:http
 * static server with ranges on the same machine.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseRange, seedBucketFromDir } from "../functions/loopback/storage.js";
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
  round,
  seedPrivateReader,
  silent,
  timeEach,
} from "./lib.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SEED = path.join(root, "emulator-data/files/demo-private");
const NWB = "session-001/recording.nwb";
const MIB = 1024 * 1024;

/** The raw baseline: a static file server with single byte ranges, nothing else. */
async function staticServer(file: string, size: number) {
  const server = http.createServer((req, res) => {
    const range = parseRange(req.headers.range, size);
    if (range === undefined || range === "unsatisfiable") {
      res.writeHead(200, { "content-length": size });
      createReadStream(file).pipe(res);
      return;
    }
    res.writeHead(206, {
      "content-length": range.end - range.start + 1,
      "content-range": `bytes ${range.start}-${range.end}/${size}`,
    });
    createReadStream(file, { start: range.start, end: range.end }).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/recording.nwb`,
    close: () => new Promise((r) => server.close(r)),
  };
}

async function readAll(url: string, size: number): Promise<void> {
  for (let start = 0; start < size; start += MIB) {
    const end = Math.min(size, start + MIB) - 1;
    const res = await fetch(url, { headers: { range: `bytes=${start}-${end}` } });
    const got = (await res.arrayBuffer()).byteLength;
    if (res.status !== 206 || got !== end - start + 1)
      throw new Error(`range ${start}: ${res.status} ${got}`);
  }
}

export async function runFilesBench(): Promise<Record<string, number | string>> {
  const emulator = await benchFirestore();
  const bench = await benchStorage("files");
  try {
    await seedBucketFromDir(bench.storage, "bench-files", SEED, "private-ds/");
    const db = firestore();
    const email = "reader@example.org";
    await seedPrivateReader(db, email, "bench-files");
    const config = bench.config();
    const server = await listen(createApp(filesApi, createRoot({ config, db, log: silent })));
    const token = await signApiToken(config, email, {}, 0, Date.now());
    let signedUrl = "";
    const issue = async () => {
      const res = await fetch(`${server.url}/v2/files/private-ds/${NWB}?signed=json`, {
        headers: { authorization: `Bearer ${token}` },
      });
      if (!res.ok) throw new Error(`sign: ${res.status}`);
      signedUrl = ((await res.json()) as { url: string }).url;
    };
    await timeEach(30, issue);
    const issueMs = await timeEach(300, issue);
    await timeEach(30, () => db.collection("clio_users").doc(email).get());
    const permissionMs = await timeEach(300, () => db.collection("clio_users").doc(email).get());

    const file = path.join(SEED, NWB);
    const size = (await stat(file)).size;
    const plain = await staticServer(file, size);
    await readAll(signedUrl, size);
    await readAll(plain.url, size);
    const signedPass = await timeEach(15, () => readAll(signedUrl, size));
    const plainPass = await timeEach(15, () => readAll(plain.url, size));
    await plain.close();
    await server.close();

    const issueP50 = percentile(issueMs, 50);
    const permissionP50 = percentile(permissionMs, 50);
    const signedP50 = percentile(signedPass, 50);
    const plainP50 = percentile(plainPass, 50);
    return {
      "files.sign_p50_ms": round(issueP50),
      "files.sign_p95_ms": round(percentile(issueMs, 95)),
      "files.permission_read_p50_ms": round(permissionP50),
      "files.sign_vs_permission_read_ratio": round(issueP50 / permissionP50),
      "files.range_reads_per_pass": Math.ceil(size / MIB),
      "files.signed_1mib_pass_p50_ms": round(signedP50),
      "files.static_1mib_pass_p50_ms": round(plainP50),
      "files.signed_vs_static_range_ratio": round(signedP50 / plainP50),
    };
  } finally {
    await bench.close();
    await emulator.stop();
  }
}

printWhenRun(import.meta.url, runFilesBench);
