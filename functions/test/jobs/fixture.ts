/**
 * Everything a job test runs against: the jobs group with the routes that start jobs (transfer,
 * catalog download, harvest, index), served over HTTP on the Firestore emulator; the loopback
 * Cloud Storage with a signing key (so bundle URLs are real V4 signed URLs it verifies); the
 * loopback transfer service and metadata server; and the catalog's file host.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Storage } from "@google-cloud/storage";
import { Timestamp } from "firebase-admin/firestore";
import { startMetadataServer, type MetadataServer } from "../../loopback/metadata.js";
import { createServiceAccount } from "../../loopback/service-account.js";
import { startStorageServer, type StorageServer } from "../../loopback/storage.js";
import { startTransferServer, type TransferServer } from "../../loopback/transfer.js";
import { catalogAdminApi, catalogApi } from "../../src/api/catalog.js";
import { jobsApi } from "../../src/api/jobs.js";
import { transferApi } from "../../src/api/transfer.js";
import type { ConfigInput } from "../../src/config.js";
import type { Logger } from "../../src/log.js";
import { JOBS_COLLECTION, type JobDoc } from "../../src/schemas/jobs.js";
import { publishCatalogIndex } from "../../src/services/catalog/search-index.js";
import { jobKinds } from "../../src/services/jobs/kinds.js";
import { runJob, type RunOutcome } from "../../src/services/jobs/runner.js";
import { firestore } from "../../src/store/firebase.js";
import { corpus, startFileServer, writeRecords, type FileServer } from "../catalog/fixture.js";
import { seedServiceFields } from "../clio-services/stack.js";
import {
  call,
  personaTokens,
  resetToSeed,
  serve,
  type CallResult,
  type Persona,
  type TestServer,
} from "../helpers/server.js";

export const BUCKET = "jobs-test";
export const DEST = "transfer-out";

export interface JobsWorld {
  api: TestServer;
  gcs: StorageServer;
  storage: Storage;
  transfer: TransferServer;
  files: FileServer;
  /** What the job trigger does for a created job, run here directly. */
  run(id: string): Promise<RunOutcome>;
  /** Personas, datasets with transfer settings, and the catalog records and index. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export async function startJobsWorld(overrides: Partial<ConfigInput> = {}): Promise<JobsWorld> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "neurofire-jobs-"));
  const sa = await createServiceAccount({ path: path.join(tmp, "signer.json") });
  const gcs = await startStorageServer({
    signerPublicKeys: { [sa.credentials.client_email]: sa.publicKeyPem },
  });
  const storage = new Storage({
    apiEndpoint: gcs.url,
    projectId: "demo-neurofire",
    credentials: sa.credentials,
  });
  const transfer = await startTransferServer();
  const metadata: MetadataServer = await startMetadataServer();
  metadata.install();
  const files = await startFileServer();
  const api = await serve([jobsApi, transferApi, catalogApi, catalogAdminApi], {
    storageApiEndpoint: gcs.url,
    storageSignerKeyFile: sa.path!,
    catalogBucket: BUCKET,
    catalogIndexCheckSeconds: 0,
    neuromorphoBaseUrl: files.url,
    hippocampomeBaseUrl: files.url,
    modeldbBaseUrl: files.url,
    dandiBaseUrl: "http://127.0.0.1:1",
    catalogDownloadFileTimeoutSeconds: 2,
    transferFunc: transfer.url,
    transferDest: DEST,
    transferRetries: 0,
    ...overrides,
  });
  return {
    api,
    gcs,
    storage,
    transfer,
    files,
    run: (id) => runJob(api.deps, jobKinds(api.deps), id),
    async reset() {
      await resetToSeed(api);
      await seedServiceFields();
      api.deps.datasets.invalidate();
      await writeRecords(corpus(files.url));
      await publishCatalogIndex({ ...api.deps }, "test");
      transfer.requests.length = 0;
      files.requests.length = 0;
      transfer.failNext(0);
    },
    async close() {
      await api.close();
      await files.close();
      metadata.uninstall();
      await metadata.close();
      await transfer.close();
      await gcs.close();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

/**
 * Writes a job document with a known id, as createJob would (for matrices and listings), stamped
 * now to the second (an older running job would read as one whose runner died); answers the time.
 */
export async function seedJob(id: string, owner: string, extra: Partial<JobDoc> = {}): Promise<string> {
  const at = Timestamp.fromMillis(Math.floor(Date.now() / 1000) * 1000);
  const doc: JobDoc = {
    owner,
    kind: "transfer",
    state: "running",
    progress: { fraction: 0.25, done: 2, total: 8, message: "2 of 8 blocks" },
    result: null,
    error: null,
    createdAt: at,
    updatedAt: at,
    startedAt: at,
    finishedAt: null,
    cancelRequested: false,
    dataset: null,
    input: {},
    ...extra,
  };
  await firestore().collection(JOBS_COLLECTION).doc(id).set(doc);
  return at.toDate().toISOString();
}

/** Every job document, by id. */
export async function allJobs(): Promise<Map<string, JobDoc>> {
  const snap = await firestore().collection(JOBS_COLLECTION).get();
  return new Map(snap.docs.map((d) => [d.id, d.data() as JobDoc]));
}

/** A logger that drops everything, for tests of the runner on its own. */
export const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} };

/** A clock that moves only when the test moves it. */
export function fakeClock(start = Date.parse("2026-03-01T00:00:00Z")) {
  let ms = start;
  return { now: () => new Date(ms), advance: (by: number) => (ms += by) };
}

export interface JobsSuite {
  world: JobsWorld;
  tokens: Record<Persona, string | undefined>;
  /** Calls the API as `persona`. */
  req: <T = unknown>(
    persona: Persona,
    method: string,
    path: string,
    body?: unknown,
  ) => Promise<CallResult<T>>;
}

/**
 * Registers the hooks of a describe block over one jobs world: started before, closed after,
 * reset to the seed before each test. Read the fields inside tests, not at registration.
 */
export function jobsSuite(overrides: Partial<ConfigInput> = {}): JobsSuite {
  const suite = {
    req: <T>(persona: Persona, method: string, path: string, body?: unknown) =>
      call<T>(suite.world.api.url, method, path, { token: suite.tokens[persona], body }),
  } as JobsSuite;
  before(async () => {
    suite.world = await startJobsWorld(overrides);
    suite.tokens = await personaTokens();
  });
  after(async () => suite.world.close());
  beforeEach(async () => suite.world.reset());
  return suite;
}
