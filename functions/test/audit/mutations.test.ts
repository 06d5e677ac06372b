/**
 * Audit entries of the mutations not covered by audit.test.ts: saved searches, pull requests,
 * site reports, atlas verification, upload sessions, transfer and the catalog index rebuild. Each
 * writes one entry saying who did it, what, through which key, on which datasets, and digests:
 * the SHA-256 of the body sent, or for a mutation without a body the state before and after (a
 * verification toggle) or what it answered (an index rebuild).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startStorageServer, type StorageServer } from "../../loopback/storage.js";
import { startTransferServer, type TransferServer } from "../../loopback/transfer.js";
import { apiGroups } from "../../src/api/groups.js";
import { transferApi } from "../../src/api/transfer.js";
import type { AuditEntry } from "../../src/store/audit.js";
import {
  seedServiceFields,
  startMetadataServer,
  TRANSFER_MODEL,
  type MetadataServer,
} from "../clio-services/stack.js";
import { startWorld, writeRecords, type CatalogWorld } from "../catalog/fixture.js";
import { seedDatasetFiles, seedObjects, startFilesFixture, type FilesFixture } from "../files/fixture.js";
import {
  apiToken,
  call,
  PERSONAS,
  PRIVATE_DS,
  resetToSeed,
  serve,
  type TestServer,
} from "../helpers/server.js";
import { mint } from "../keys/helpers.js";
import { auditEntries, seedAtlasPoint } from "./helpers.js";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The one entry of `action`, checked for who, key, datasets, path and body digest. */
async function entryOf(
  action: string,
  expected: { actor: string; keyId?: string | null; datasets: string[]; path: string; body?: unknown },
): Promise<AuditEntry> {
  const found = await auditEntries(action);
  assert.equal(found.length, 1, `one ${action} entry: ${JSON.stringify(found)}`);
  const e = found[0]!;
  assert.equal(e.actor, expected.actor, action);
  assert.equal(e.keyId, expected.keyId ?? null, action);
  assert.deepEqual(e.datasets, expected.datasets, action);
  assert.equal(e.path, expected.path, action);
  assert.ok(e.status >= 200 && e.status < 300, action);
  assert.match(e.at, /^\d{4}-\d\d-\d\dT/);
  if (expected.body !== undefined) assert.equal(e.after, sha256(JSON.stringify(expected.body)), action);
  else assert.match(e.after ?? "", /^[0-9a-f]{64}$/, `${action}: a digest of the outcome`);
  return e;
}

describe("audit entries: saved searches, pull requests, site reports, atlas verification", () => {
  let api: TestServer;
  let reader: string;
  let writer: string;
  before(async () => {
    api = await serve(apiGroups);
    reader = await apiToken(PERSONAS.reader);
    writer = await apiToken(PERSONAS.writer);
  });
  after(() => api.close());
  beforeEach(() => resetToSeed(api));

  const send = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await call(api.url, method, path, { token, body });
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${res.text}`);
    return res;
  };

  it("saved searches: write and delete, with the dataset", async () => {
    const body = { note: "a search", threshold: 0.5 };
    await send(reader, "POST", `/v2/savedsearches/${PRIVATE_DS}?x=1&y=2&z=3`, body);
    await entryOf("savedsearches.write", {
      actor: PERSONAS.reader,
      datasets: [PRIVATE_DS],
      path: `/v2/savedsearches/${PRIVATE_DS}`,
      body,
    });
    await send(reader, "DELETE", `/v2/savedsearches/${PRIVATE_DS}?x=1&y=2&z=3`);
    const del = await entryOf("savedsearches.delete", {
      actor: PERSONAS.reader,
      datasets: [PRIVATE_DS],
      path: `/v2/savedsearches/${PRIVATE_DS}`,
    });
    assert.equal(del.target.dataset, PRIVATE_DS);
  });

  it("pull requests and site reports, made through a scoped key", async () => {
    const key = await mint(api.url, reader, { name: "k", datasets: [PRIVATE_DS], role: "clio_general" });
    await send(key.key, "POST", "/v2/kv/s/k", { v: 1 });
    const pull = { pull: "kv/s/k" };
    await send(key.key, "POST", "/v2/pull-request", pull);
    await entryOf("pull-request.create", {
      actor: PERSONAS.reader,
      keyId: key.id,
      datasets: [],
      path: "/v2/pull-request",
      body: pull,
    });
    const report = { projectUrl: "https://example.org/clio", defaultProd: false };
    await send(reader, "POST", "/v2/site-reports", report);
    await entryOf("site-reports.create", {
      actor: PERSONAS.reader,
      datasets: [],
      path: "/v2/site-reports",
      body: report,
    });
  });

  it("atlas verification: who verified, through which key, and the point's digests before and after", async () => {
    await seedAtlasPoint("p");
    const key = await mint(api.url, writer, { name: "curate", datasets: [PRIVATE_DS], role: "clio_write" });
    const res = await send(key.key, "POST", "/v2/atlas-verify/p");
    const e = await entryOf("atlas.verify", {
      actor: PERSONAS.writer,
      keyId: key.id,
      datasets: [PRIVATE_DS],
      path: "/v2/atlas-verify/p",
    });
    assert.match(e.before ?? "", /^[0-9a-f]{64}$/);
    assert.notEqual(e.before, e.after, "the toggle changed the point");
    assert.equal(e.after, sha256(res.text), "after is the point as answered");
    assert.equal(e.target.id, "p");
  });
});

describe("audit entries: upload sessions", () => {
  let fx: FilesFixture;
  before(async () => {
    fx = await startFilesFixture();
  });
  after(() => fx.close());

  it("a writer's upload session is recorded with the dataset and the body's digest", async () => {
    await resetToSeed(fx.api);
    await seedDatasetFiles();
    await seedObjects(fx);
    fx.api.deps.datasets.invalidate();
    const body = { path: "session-002/new.nwb", contentType: "application/x-hdf5" };
    const res = await call(fx.api.url, "POST", `/v2/files/${PRIVATE_DS}/uploads`, {
      token: await apiToken(PERSONAS.writer),
      body,
    });
    assert.equal(res.status, 200, res.text);
    await entryOf("files.upload-url", {
      actor: PERSONAS.writer,
      datasets: [PRIVATE_DS],
      path: `/v2/files/${PRIVATE_DS}/uploads`,
      body,
    });
  });
});

describe("audit entries: transfer", () => {
  let storage: StorageServer;
  let transfer: TransferServer;
  let metadata: MetadataServer;
  let api: TestServer;
  before(async () => {
    storage = await startStorageServer();
    transfer = await startTransferServer();
    metadata = await startMetadataServer();
    metadata.install();
    api = await serve(transferApi, {
      transferFunc: transfer.url,
      transferDest: "transfer-out",
      storageApiEndpoint: storage.url,
    });
  });
  after(async () => {
    metadata.uninstall();
    await api.close();
    await metadata.close();
    await transfer.close();
    await storage.close();
  });

  it("a transfer run is recorded on the dataset it ran on", async () => {
    await resetToSeed(api);
    await seedServiceFields();
    api.deps.datasets.invalidate();
    const body = { dataset: PRIVATE_DS, model_name: TRANSFER_MODEL, center: [1000, 2000, 3000] };
    const res = await call(api.url, "POST", "/v2/transfer", { token: await apiToken(PERSONAS.reader), body });
    assert.equal(res.status, 200, res.text);
    await entryOf("transfer.run", {
      actor: PERSONAS.reader,
      datasets: [PRIVATE_DS],
      path: "/v2/transfer",
      body,
    });
  });
});

describe("audit entries: catalog index rebuild", () => {
  let world: CatalogWorld;
  before(async () => {
    world = await startWorld();
  });
  after(() => world.close());

  it("an admin's rebuild is recorded with a digest of the published pointer", async () => {
    await resetToSeed(world.api);
    await writeRecords(world.records);
    const res = await call(world.api.url, "POST", "/v2/catalog/index", {
      token: await apiToken(PERSONAS.admin),
    });
    assert.equal(res.status, 200, res.text);
    const e = await entryOf("harvest.rebuild-index", {
      actor: PERSONAS.admin,
      datasets: [],
      path: "/v2/catalog/index",
    });
    assert.equal(e.after, sha256(res.text));
  });
});
