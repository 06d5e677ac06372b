/**
 * Helpers for the json-annotations suites: a server with a fresh per-instance service per test
 * (the replica must not outlive a cleared database), exact requests (any Content-Type, or none),
 * exact JSON reading, and a dump of the stored documents to prove a refused request wrote nothing.
 */
import { isInteger, parse } from "lossless-json";
import { Timestamp } from "firebase-admin/firestore";
import { createJsonAnnotationsApi } from "../../src/api/json-annotations.js";
import { datasetsApi } from "../../src/api/datasets.js";
import { firestore } from "../../src/store/firebase.js";
import {
  personaTokens,
  PRIVATE_DS,
  resetToSeed,
  serve,
  type Persona,
  type TestServer,
} from "../helpers/server.js";

export const BASE = `/v2/json-annotations/${PRIVATE_DS}/neurons`;

export interface Harness {
  server: TestServer;
  tokens: Record<Persona, string | undefined>;
  close(): Promise<void>;
}

/** A server of the json-annotations group (and datasets, to move tags) on a freshly seeded database. */
export async function harness(): Promise<Harness> {
  const api = createJsonAnnotationsApi();
  const server = await serve([api, datasetsApi]);
  await resetToSeed(server);
  return {
    server,
    tokens: await personaTokens(),
    close: async () => {
      await api.close();
      await server.close();
    },
  };
}

function parseNumber(text: string): number | bigint {
  return isInteger(text) && !Number.isSafeInteger(Number(text)) ? BigInt(text) : Number(text);
}

export function exactParse(text: string): unknown {
  return text === "" ? undefined : parse(text, null, parseNumber);
}

export interface SendOptions {
  token?: string | undefined;
  /** JSON text sent as is. */
  body?: string;
  /** null: send no Content-Type at all. */
  contentType?: string | null;
  headers?: Record<string, string>;
}

export interface Sent {
  status: number;
  text: string;
  body: unknown;
  headers: Headers;
}

/** One request exactly as a client sends it. */
export async function send(
  base: string,
  method: string,
  path: string,
  options: SendOptions = {},
): Promise<Sent> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const contentType = options.contentType === undefined ? "application/json" : options.contentType;
  if (options.body !== undefined && contentType !== null) headers["content-type"] = contentType;
  // A Uint8Array body makes fetch add no Content-Type of its own.
  const body = options.body === undefined ? undefined : new TextEncoder().encode(options.body);
  const res = await fetch(`${base}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = exactParse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, text, body: parsed, headers: res.headers };
}

function plain(value: unknown): unknown {
  if (value instanceof Timestamp) return `ts:${value.toMillis()}`;
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

/** Every stored document of the dataset's records and tag history, by path. */
export async function dump(dataset = PRIVATE_DS): Promise<Record<string, unknown>> {
  const db = firestore();
  const out: Record<string, unknown> = {};
  const records = await db.collection("clio_annotations_global").doc("neurons").collection(dataset).get();
  for (const doc of records.docs) out[doc.ref.path] = plain(doc.data());
  const tags = await db.collection("clio_dataset_tags").doc(dataset).collection("tags").get();
  for (const doc of tags.docs) out[doc.ref.path] = plain(doc.data());
  return out;
}

/** Writes HEAD documents directly in the 2021–22 layout (as an existing clio database holds them). */
export async function seedRecords(records: Record<string, unknown>[], dataset = PRIVATE_DS): Promise<void> {
  const db = firestore();
  const writer = db.bulkWriter();
  for (const r of records) {
    const id = String(r.bodyid);
    void writer.set(
      db.collection("clio_annotations_global").doc("neurons").collection(dataset).doc(`id${id}`),
      {
        ...r,
        _head: true,
        _version: 0,
        _timestamp: 1_650_000_000,
        _user: "import@example.org",
      },
    );
  }
  await writer.close();
}
