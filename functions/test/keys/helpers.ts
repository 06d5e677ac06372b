/**
 * Shared by the keys, audit and rate-limit tests: app instances over the one emulator with a
 * clock the test moves, and minting keys through the API.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import type { ConfigInput } from "../../src/config.js";
import { createApp } from "../../src/http/app.js";
import type { ApiGroup } from "../../src/http/route.js";
import { createRoot, type Root } from "../../src/services/root.js";
import { firestore } from "../../src/store/firebase.js";
import type { Logger } from "../../src/log.js";
import { call, testConfig } from "../helpers/server.js";

export interface Clock {
  ms: number;
  advance(seconds: number): void;
}

export function clock(): Clock {
  return {
    ms: Date.now(),
    advance(seconds) {
      this.ms += seconds * 1000;
    },
  };
}

export interface Instance {
  url: string;
  deps: Root;
  close(): Promise<void>;
}

const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} };

/** One app instance (its own caches, limiter and key cache) over the shared emulator. */
export async function instance(
  groups: ApiGroup | ApiGroup[],
  overrides: Partial<ConfigInput> = {},
  at?: Clock,
): Promise<Instance> {
  const deps = createRoot({
    config: testConfig(overrides),
    db: firestore(),
    log: quiet,
    ...(at ? { now: () => new Date(at.ms) } : {}),
  });
  const app = createApp(groups, deps, { checkResponses: true });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deps,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface Minted {
  id: string;
  key: string;
  datasets: string[];
  role: string;
  expires: string;
}

export async function mint(
  url: string,
  token: string | undefined,
  body: Record<string, unknown>,
  path = "/v2/keys",
): Promise<Minted> {
  const res = await call<Minted>(url, "POST", path, { token, body });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

/** Every document of every top-level collection (and the audit feeds' changes), by path. */
export async function snapshotAll(skip: string[] = []): Promise<Record<string, unknown>> {
  const db = firestore();
  const out: Record<string, unknown> = {};
  for (const col of await db.listCollections()) {
    if (skip.includes(col.id)) continue;
    for (const doc of (await col.get()).docs) out[doc.ref.path] = doc.data();
  }
  return out;
}
