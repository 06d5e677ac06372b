/**
 * What the clio-services tests run against: the loopback Cloud Storage and BigQuery seeded from
 * the committed signature seed, and the Firestore seed each route needs.
 */
import { readFile } from "node:fs/promises";
import { Storage } from "@google-cloud/storage";
import { startBigQueryServer, type BigQueryServer, type SeedTable } from "../../loopback/bigquery.js";
import { seedBucketFromDir, startStorageServer, type StorageServer } from "../../loopback/storage.js";
import { encodeBlock } from "../../src/services/signatures.js";
import { firestore } from "../../src/store/firebase.js";
import { signaturesApi } from "../../src/api/signatures.js";
import type { ConfigInput } from "../../src/config.js";
import { PERSONAS, PRIVATE_DS, PUBLIC_DS, serve, type TestServer } from "../helpers/server.js";
import { TEST_PROJECT_ID } from "../setup/hooks.js";

export const SIG_BUCKET = "signatures";
/** The committed seed's dataset; clio names the bucket folder and BigQuery dataset after it. */
export const SIG_DS = "demo";
/** The same seed under a public dataset. */
export const PUBLIC_SIG_DS = "pubsigs";
/** Signatures in the bucket but no BigQuery tables. */
export const UNINDEXED_SIG_DS = "unindexed";
/** One block holding one sample whose signature is above 2^53, and no BigQuery tables. */
export const SPARSE_SIG_DS = "sparse";
export const SPARSE_SIGNATURE = "9007199254740993";
/** The seed's query landmark (96, 96, 96) and its signature, written out so a lossy path cannot agree with itself. */
export const QUERY = "x=96&y=96&z=96";
export const QUERY_SIGNATURE = "-7046029254386353131";

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
  // The demo masks as written (64-bit JSON numbers: no JSON.parse round trip), larger blocks.
  const info = (await readFile("emulator-data/signatures/demo/info.json", "utf8")).replace(
    /"block_size":\s*\d+/,
    '"block_size": 1000',
  );
  const sparse = client.bucket(SIG_BUCKET);
  await sparse.file(`${SPARSE_SIG_DS}/info.json`).save(info);
  await sparse
    .file(`${SPARSE_SIG_DS}/blocks/0_0_0`)
    .save(encodeBlock([{ point: [10, 10, 10], signature: BigInt(SPARSE_SIGNATURE) }]));
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
/** The signatures group served against the stack's storage and BigQuery (overrides win). */
export function serveSignatures(
  stack: SignatureStack,
  overrides: Partial<ConfigInput> = {},
): Promise<TestServer> {
  return serve(signaturesApi, {
    sigBucket: SIG_BUCKET,
    storageApiEndpoint: stack.storage.url,
    bigqueryApiEndpoint: stack.bigquery.url,
    ...overrides,
  });
}

export async function seedSignatureDatasets(): Promise<void> {
  const db = firestore();
  const batch = db.batch();
  batch.set(db.collection("clio_datasets").doc(SIG_DS), { description: "signature demo" });
  batch.set(db.collection("clio_datasets").doc(PUBLIC_SIG_DS), { description: "public demo", public: true });
  batch.set(db.collection("clio_datasets").doc(UNINDEXED_SIG_DS), { description: "no BigQuery index" });
  batch.set(db.collection("clio_datasets").doc(SPARSE_SIG_DS), { description: "one large signature" });
  batch.set(db.collection("clio_datasets").doc("nosigs"), { description: "no signatures at all" });
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

export { startMetadataServer, type MetadataServer } from "../../loopback/metadata.js";
