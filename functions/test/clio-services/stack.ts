/**
 * What the clio-services tests run against: the loopback Cloud Storage and BigQuery seeded from
 * the committed signature seed, a loopback GCE metadata server that hands out identity tokens
 * (what google-auth-library asks for on Cloud Functions), and the Firestore seed each route needs.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readFile } from "node:fs/promises";
import { Storage } from "@google-cloud/storage";
import { generateKeyPair, SignJWT } from "jose";
import { startBigQueryServer, type BigQueryServer, type SeedTable } from "../../loopback/bigquery.js";
import { seedBucketFromDir, startStorageServer, type StorageServer } from "../../loopback/storage.js";
import { firestore } from "../../src/store/firebase.js";
import { PERSONAS, PRIVATE_DS, PUBLIC_DS } from "../helpers/server.js";
import { TEST_PROJECT_ID } from "../setup/hooks.js";

export const SIG_BUCKET = "signatures";
/** The committed seed's dataset; clio names the bucket folder and BigQuery dataset after it. */
export const SIG_DS = "demo";
/** The same seed under a public dataset. */
export const PUBLIC_SIG_DS = "pubsigs";
/** Signatures in the bucket but no BigQuery tables. */
export const UNINDEXED_SIG_DS = "unindexed";

export interface SignatureStack {
  storage: StorageServer;
  bigquery: BigQueryServer;
  client: Storage;
  close(): Promise<void>;
}

export async function startSignatureStack(): Promise<SignatureStack> {
  const storage = await startStorageServer();
  const client = new Storage({ apiEndpoint: storage.url, projectId: TEST_PROJECT_ID });
  for (const ds of [SIG_DS, PUBLIC_SIG_DS, UNINDEXED_SIG_DS]) {
    await seedBucketFromDir(client, SIG_BUCKET, "emulator-data/signatures/demo", `${ds}/`);
  }
  const seed = JSON.parse(await readFile("emulator-data/signatures/bigquery.json", "utf8")) as {
    tables: Record<string, SeedTable>;
  };
  const tables: Record<string, SeedTable> = {};
  for (const [name, table] of Object.entries(seed.tables)) {
    tables[name] = table;
    tables[name.replace(`${SIG_DS}_imgsearch.`, `${PUBLIC_SIG_DS}_imgsearch.`)] = table;
  }
  const bigquery = await startBigQueryServer({ tables });
  return {
    storage,
    bigquery,
    client,
    async close() {
      await bigquery.close();
      await storage.close();
    },
  };
}

/**
 * Gives the personas of private-ds the same roles on the signatures dataset, and adds the
 * signature datasets' documents (pubsigs public).
 */
export async function seedSignatureDatasets(): Promise<void> {
  const db = firestore();
  const batch = db.batch();
  batch.set(db.collection("clio_datasets").doc(SIG_DS), { description: "signature demo" });
  batch.set(db.collection("clio_datasets").doc(PUBLIC_SIG_DS), { description: "public demo", public: true });
  batch.set(db.collection("clio_datasets").doc(UNINDEXED_SIG_DS), { description: "no BigQuery index" });
  const roles: [string, string][] = [
    [PERSONAS.reader, "clio_general"],
    [PERSONAS.writer, "clio_write"],
    [PERSONAS.datasetAdmin, "dataset_admin"],
  ];
  for (const [email, role] of roles) {
    batch.update(db.collection("clio_users").doc(email), {
      [`datasets.${SIG_DS}`]: [role],
      [`datasets.${UNINDEXED_SIG_DS}`]: [role],
    });
  }
  await batch.commit();
}

export const TRANSFER_MODEL = "denoise:v1";
export const GRAYSCALE = "precomputed://gs://grayscale/private/jpeg";
export const NEUPRINT_HOST = "neuprint.example.org";

/** The fields transfer and the neuPrint proxy read, on both persona datasets. */
export async function seedServiceFields(): Promise<void> {
  const db = firestore();
  const fields = {
    transfer: [TRANSFER_MODEL],
    location: GRAYSCALE,
    neuprintHTTP: { server: NEUPRINT_HOST, dataset: "hemibrain" },
  };
  await db.collection("clio_datasets").doc(PRIVATE_DS).set(fields, { merge: true });
  await db.collection("clio_datasets").doc(PUBLIC_DS).set(fields, { merge: true });
}

export interface MetadataServer {
  /** host:port, the GCE_METADATA_HOST value. */
  host: string;
  /** Identity-token requests, by audience. */
  identityRequests: string[];
  /** Makes google-auth-library use this server for the duration of a test suite. */
  install(): void;
  uninstall(): void;
  close(): Promise<void>;
}

/**
 * Loopback GCE metadata server: the `Metadata-Flavor: Google` protocol of
 * `computeMetadata/v1`, answering what google-auth-library's Compute client asks for:
 * the project id, the default service account's email, and RS256 identity tokens for an
 * audience (`instance/service-accounts/default/identity?audience=…`). Anything else is a 404.
 */
export async function startMetadataServer(): Promise<MetadataServer> {
  const { privateKey } = await generateKeyPair("RS256");
  const email = `neurofire@${TEST_PROJECT_ID}.iam.gserviceaccount.com`;
  const identityRequests: string[] = [];
  const saved: Record<string, string | undefined> = {};

  const reply = (res: ServerResponse, status: number, body: string) =>
    res.writeHead(status, { "metadata-flavor": "Google", "content-type": "application/text" }).end(body);

  const answer = async (req: IncomingMessage): Promise<[number, string]> => {
    if (req.headers["metadata-flavor"] !== "Google") return [403, "Missing Metadata-Flavor header"];
    const url = new URL(req.url ?? "/", "http://metadata");
    const path = url.pathname.replace(/^\/computeMetadata\/v1\//, "");
    if (path === "project/project-id") return [200, TEST_PROJECT_ID];
    if (path === "universe/universe-domain") return [200, "googleapis.com"];
    if (path === "instance/service-accounts/default/email") return [200, email];
    if (path !== "instance/service-accounts/default/identity") return [404, "not found"];
    const audience = url.searchParams.get("audience");
    if (!audience) return [400, "audience required"];
    identityRequests.push(audience);
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ email, email_verified: true })
      .setProtectedHeader({ alg: "RS256", kid: "metadata-loopback", typ: "JWT" })
      .setIssuer("https://accounts.google.com")
      .setAudience(audience)
      .setSubject("100000000000000000001")
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(privateKey);
    return [200, token];
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void answer(req).then(([status, body]) => reply(res, status, body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const vars = { GCE_METADATA_HOST: host, METADATA_SERVER_DETECTION: "assume-present" };
  return {
    host,
    identityRequests,
    install() {
      for (const [name, value] of Object.entries(vars)) {
        saved[name] = process.env[name];
        process.env[name] = value;
      }
    },
    uninstall() {
      for (const name of Object.keys(vars)) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
