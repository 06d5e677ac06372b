/**
 * Serves API groups over real HTTP on a loopback port, backed by the real Firestore emulator,
 * and gives tests the seeded personas of the permission matrix and a way to call the API.
 */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { SignJWT } from "jose";
import { configSchema, type Config, type ConfigInput } from "../../src/config.js";
import { createApp } from "../../src/http/app.js";
import { createRoot, type Root } from "../../src/services/root.js";
import type { ApiGroup } from "../../src/http/route.js";
import type { Logger, LogFields } from "../../src/log.js";
import { firestore } from "../../src/store/firebase.js";
import { clearFirestore, TEST_PROJECT_ID } from "../setup/hooks.js";

/** Only ever used against the emulator; generated per run would work as well. */
export const TEST_SECRET = "neurofire-test-secret-0123456789abcdef";

export function testConfig(overrides: Partial<ConfigInput> = {}): Config {
  return configSchema.parse({
    projectId: TEST_PROJECT_ID,
    tokenSecret: TEST_SECRET,
    owner: "owner@example.org",
    // Rate limits off unless a test sets them (functions/test/ratelimit/ does), so suites that send
    // many requests from one persona are not throttled.
    rateLimits: "read=0,write=0,anonymous=0,costly=0",
    ...overrides,
  });
}

export interface LogLine {
  level: "info" | "warn" | "error";
  message: string;
  fields: LogFields;
}

export interface TestServer {
  url: string;
  deps: Root;
  logs: LogLine[];
  close(): Promise<void>;
}

export async function serve(
  groups: ApiGroup | ApiGroup[],
  overrides: Partial<ConfigInput> = {},
): Promise<TestServer> {
  const logs: LogLine[] = [];
  const log: Logger = {
    info: (message, fields = {}) => logs.push({ level: "info", message, fields }),
    warn: (message, fields = {}) => logs.push({ level: "warn", message, fields }),
    error: (message, fields = {}) => logs.push({ level: "error", message, fields }),
  };
  const deps = createRoot({ config: testConfig(overrides), db: firestore(), log });
  // Every answer is parsed against its route's response schema: drift fails the test.
  const app = createApp(groups, deps, { checkResponses: true });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deps,
    logs,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface TokenOptions {
  secret?: string;
  issuer?: string;
  expiresIn?: number;
  claims?: Record<string, unknown>;
}

/** An API token as /v2/server/token issues them (HS256, clio's issuer). */
export async function apiToken(email: string, options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email, ...options.claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(options.issuer ?? "flyem-clio-store")
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 3600))
    .sign(new TextEncoder().encode(options.secret ?? TEST_SECRET));
}

export interface CallResult<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

export interface CallOptions {
  token?: string | undefined;
  body?: unknown;
  headers?: Record<string, string>;
}

export async function call<T = unknown>(
  base: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<CallResult<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers["content-type"] ??= "application/json";
    body =
      typeof options.body === "string" && headers["content-type"] !== "application/json"
        ? options.body
        : JSON.stringify(options.body);
  }
  const res = await fetch(`${base}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed as T, headers: res.headers, text };
}

/** The personas of the permission matrix; the private dataset is `private-ds`, the public one `public-ds`. */
export const PRIVATE_DS = "private-ds";
export const PUBLIC_DS = "public-ds";

export const PERSONAS = {
  anonymous: undefined,
  unknown: "stranger@example.org",
  reader: "reader@example.org",
  writer: "writer@example.org",
  datasetAdmin: "dsadmin@example.org",
  admin: "admin@example.org",
  disabled: "disabled@example.org",
} as const;
export type Persona = keyof typeof PERSONAS;
export const PERSONA_NAMES = Object.keys(PERSONAS) as Persona[];

/** Writes the personas' user documents and the two datasets. */
export async function seedPersonas(): Promise<void> {
  const db = firestore();
  const batch = db.batch();
  const users: Record<string, object> = {
    [PERSONAS.reader]: { datasets: { [PRIVATE_DS]: ["clio_general"] }, groups: ["team"] },
    [PERSONAS.writer]: { datasets: { [PRIVATE_DS]: ["clio_write"] }, groups: ["team"] },
    [PERSONAS.datasetAdmin]: { datasets: { [PRIVATE_DS]: ["dataset_admin"] } },
    [PERSONAS.admin]: { global_roles: ["admin"], name: "Ada Admin" },
    [PERSONAS.disabled]: { global_roles: ["admin"], disabled: true },
  };
  for (const [email, doc] of Object.entries(users)) batch.set(db.collection("clio_users").doc(email), doc);
  batch.set(db.collection("clio_datasets").doc(PRIVATE_DS), {
    description: "a private dataset",
    tag: "v1.2",
    uuid: "abc123",
  });
  batch.set(db.collection("clio_datasets").doc(PUBLIC_DS), { description: "a public dataset", public: true });
  await batch.commit();
}

/** A token per persona (undefined for anonymous). */
export async function personaTokens(): Promise<Record<Persona, string | undefined>> {
  const out = {} as Record<Persona, string | undefined>;
  for (const persona of PERSONA_NAMES) {
    const email = PERSONAS[persona];
    out[persona] = email ? await apiToken(email) : undefined;
  }
  return out;
}

/**
 * Empties the database, seeds the personas and drops the servers' caches, so every test starts
 * from the same state whatever the previous one wrote.
 */
export async function resetToSeed(...servers: TestServer[]): Promise<void> {
  await clearFirestore();
  await seedPersonas();
  for (const server of servers) {
    server.deps.users.invalidate();
    server.deps.datasets.invalidate();
    server.deps.tokenState.forget();
  }
}
