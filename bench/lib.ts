/**
 * Shared benchmark plumbing: an emulator, an app on a loopback port, the loopback storage with a
 * signer, timing helpers.
 */
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Storage } from "@google-cloud/storage";
import type { Firestore } from "firebase-admin/firestore";
import { createServiceAccount, type LocalServiceAccount } from "../functions/loopback/service-account.js";
import {
  startStorageServer,
  type StorageServer,
  type StorageServerOptions,
} from "../functions/loopback/storage.js";
import { configSchema, type Config, type ConfigInput } from "../functions/src/config.js";
import type { Logger } from "../functions/src/log.js";
import { startFirestoreEmulator, type FirestoreEmulator } from "../scripts/lib/firestore-emulator.js";

export const PROJECT_ID = "demo-neurofire";

/** Starts a Firestore emulator and points firebase-admin at it (before its first use). */
export async function benchFirestore(): Promise<FirestoreEmulator> {
  process.env.METADATA_SERVER_DETECTION = "none";
  process.env.GCLOUD_PROJECT = PROJECT_ID;
  const emulator = await startFirestoreEmulator({ projectId: PROJECT_ID });
  process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
  return emulator;
}

export async function listen(app: {
  listen: (port: number, host: string, cb: () => void) => import("node:http").Server;
}) {
  const server = await new Promise<import("node:http").Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(r)),
  };
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Runs `fn` `n` times sequentially and returns each duration in ms. */
export async function timeEach(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

/** Requests per second for `total` calls of `fn` with `concurrency` in flight. */
export async function throughput(
  total: number,
  concurrency: number,
  fn: () => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next += 1;
        await fn();
      }
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

export const round = (x: number, digits = 2) => Number(x.toFixed(digits));

/** Benches measure the work, not the rate limiter (bench/security.ts measures that): all off. */
export const NO_RATE_LIMITS = "read=0,write=0,anonymous=0,costly=0";

export const silent: Logger = { info: () => {}, warn: () => {}, error: () => {} };
export const BENCH_SECRET = "bench-secret-0123456789abcdef0123";

export interface BenchStorage {
  gcs: StorageServer;
  /** The signing service account (its key file is `sa.path`). */
  sa: LocalServiceAccount;
  /** A client of `gcs` as that service account. */
  storage: Storage;
  /** The functions' config for this storage and signer, rate limits off, plus `extra`. */
  config: (extra?: Partial<ConfigInput>) => Config;
  close: () => Promise<void>;
}

/** The loopback Cloud Storage with a service account whose V4 signatures it accepts. */
export async function benchStorage(
  name: string,
  options: Omit<StorageServerOptions, "signerPublicKeys"> = {},
): Promise<BenchStorage> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), `neurofire-bench-${name}-`));
  const sa = await createServiceAccount({ path: path.join(tmp, "signer.json") });
  const gcs = await startStorageServer({
    ...options,
    signerPublicKeys: { [sa.credentials.client_email]: sa.publicKeyPem },
  });
  const storage = new Storage({ apiEndpoint: gcs.url, projectId: PROJECT_ID, credentials: sa.credentials });
  return {
    gcs,
    sa,
    storage,
    config: (extra = {}) =>
      configSchema.parse({
        rateLimits: NO_RATE_LIMITS,
        projectId: PROJECT_ID,
        tokenSecret: BENCH_SECRET,
        storageApiEndpoint: gcs.url,
        storageSignerKeyFile: sa.path,
        ...extra,
      }),
    close: async () => {
      await gcs.close();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

/** `email` reads dataset `private-ds`, whose files are in `bucket`. */
export async function seedPrivateReader(db: Firestore, email: string, bucket: string): Promise<void> {
  await db
    .collection("clio_users")
    .doc(email)
    .set({ datasets: { "private-ds": ["clio_general"] } });
  await db.collection("clio_datasets").doc("private-ds").set({ description: "bench", files: { bucket } });
}

/** When the bench file is run directly: print each figure, exit 0 (or the error, exit 1). */
export function printWhenRun(url: string, run: () => Promise<Record<string, number | string>>): void {
  if (url !== pathToFileURL(process.argv[1] ?? "").href) return;
  run().then(
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
