/** Shared benchmark plumbing: an emulator, an app on a loopback port, timing helpers. */
import type { AddressInfo } from "node:net";
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
