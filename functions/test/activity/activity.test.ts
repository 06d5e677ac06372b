/**
 * /v2/activity over the loopback Cloud Storage server and the Firestore emulator, on the synthetic
 * fixture in emulator-data/activity (one normalised dataset with encoding, one legacy dataset).
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Storage } from "@google-cloud/storage";
import { startStorageServer, type StorageServer } from "../../loopback/storage.js";
import { makeActivityApi } from "../../src/api/activity.js";
import { readActivityFolder, writeActivity } from "../../src/services/activity/ingest.js";
import { firestore } from "../../src/store/firebase.js";
import { checkMatrix } from "../helpers/matrix.js";
import {
  call,
  personaTokens,
  PRIVATE_DS,
  resetToSeed,
  serve,
  type Persona,
  type TestServer,
} from "../helpers/server.js";
import { dump } from "../clio/util.js";

const DIR = path.join(import.meta.dirname, "..", "..", "..", "emulator-data", "activity");
const BUCKET = "neurofire-activity";
const NORM = "synthetic-2023-01-01-01";
const LEGACY = "synthetic-2023-01-02-01";
const source = JSON.parse(readFileSync(path.join(DIR, "datasets", `${NORM}.json`), "utf8")) as {
  gcamp: { trace_array: number[][] };
  behavior: { velocity: number[] };
  encoding: Record<string, unknown>;
};
const detail = (body: unknown) => (body as { detail: string }).detail;

describe("activity", () => {
  let gcs: StorageServer;
  let storage: Storage;
  let server: TestServer;
  let tokens: Record<Persona, string | undefined>;

  const ingest = async () =>
    writeActivity({ db: firestore(), storage, bucket: BUCKET }, await readActivityFolder(DIR));

  before(async () => {
    gcs = await startStorageServer();
    storage = new Storage({ apiEndpoint: gcs.url, projectId: "demo-neurofire" });
    server = await serve(makeActivityApi(), { storageApiEndpoint: gcs.url, activityBucket: BUCKET });
    await resetToSeed(server);
    await ingest();
    tokens = await personaTokens();
  });
  after(async () => {
    await server.close();
    await gcs.close();
  });

  const get = <T = Record<string, unknown>>(p: string, token?: string) =>
    call<T>(server.url, "GET", `/v2/activity${p}`, { token });

  it("lists each dataset once, with its types as a list", async () => {
    const res = await get<Record<string, unknown>[]>("/datasets");
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, [
      {
        dataset_id: NORM,
        dataset_type: ["baseline", "neuropal"],
        n_neuron: 6,
        n_labeled: 2,
        max_t: 200,
        avg_timestep: 0.6,
      },
      {
        dataset_id: LEGACY,
        dataset_type: ["baseline"],
        n_neuron: 4,
        n_labeled: 1,
        max_t: 200,
        avg_timestep: 0.6,
      },
    ]);
    assert.equal(res.headers.get("cache-control"), "public, max-age=86400");
  });

  it("serves one neuron's trace from Cloud Storage, truncated to 6 decimals, with ETag and 304", async () => {
    gcs.resetStats();
    const res = await get<{ trace: number[]; idx_neuron: number; dataset_id: string }>(`/${NORM}/2`);
    assert.equal(res.status, 200);
    assert.equal(res.body.idx_neuron, 2);
    assert.equal(res.body.dataset_id, NORM);
    assert.deepEqual(
      res.body.trace,
      source.gcamp.trace_array[1]!.map((x) => Math.trunc(x * 1e6) / 1e6),
    );
    assert.ok(gcs.stats().requests >= 1, "the bytes came from Cloud Storage");
    assert.equal(res.headers.get("cache-control"), "public, max-age=86400");
    const again = await call(server.url, "GET", `/v2/activity/${NORM}/2`, {
      headers: { "if-none-match": res.headers.get("etag")! },
    });
    assert.equal(again.status, 304);
    // No trace is stored in Firestore.
    const docs = await dump("activity_datasets");
    assert.ok(JSON.stringify(docs).length < 5000);
  });

  it("maps the legacy shape: trace and behaviour of the legacy dataset", async () => {
    const res = await get<{ trace: number[] }>(`/${LEGACY}/4`);
    assert.equal(res.status, 200);
    assert.equal(res.body.trace.length, 200);
    const beh = await get<{ data: { behavior: { traces: Record<string, { name: string }> } } }>(
      `/${LEGACY}/behavior`,
    );
    assert.deepEqual(Object.keys(beh.body.data.behavior.traces), ["v", "hc", "av"]);
  });

  it("behaviour: velocity x10 truncated to 5 decimals, feeding only with pumping, 7-day cache", async () => {
    const res = await get<{
      data: {
        behavior: {
          traces: Record<string, { i: number; name: string; unit: string; data: number[] }>;
          reversal_events: unknown;
        };
      };
      max_t: number;
    }>(`/${NORM}/behavior`);
    assert.equal(res.status, 200);
    const v = res.body.data.behavior.traces.v!;
    assert.equal(v.name, "Velocity");
    assert.equal(v.unit, "0.1 mm/s");
    assert.deepEqual(
      v.data,
      source.behavior.velocity.map((x) => Math.trunc(x * 10 * 1e5) / 1e5),
    );
    assert.deepEqual(Object.keys(res.body.data.behavior.traces), ["v", "hc", "av", "f"]);
    assert.deepEqual(res.body.data.behavior.reversal_events, [
      [20, 31],
      [120, 134],
    ]);
    assert.equal(res.headers.get("cache-control"), "public, max-age=604800");
  });

  it("encoding: the table, and 404 (not WormWideWeb's 500) when a dataset has none", async () => {
    const res = await get(`/${NORM}/encoding`);
    assert.equal(res.status, 200);
    assert.equal(res.body.n_neuron, 6);
    assert.deepEqual(res.body.tau_vals, source.encoding.tau_vals);
    const none = await get(`/${LEGACY}/encoding`);
    assert.equal(none.status, 404);
    assert.match(detail(none.body), /has no encoding/);
  });

  it("atanas_kim_2023_encoding and find_neuron", async () => {
    const ak =
      await get<Record<string, { neuron: Record<string, { idx_neruon: number; label: string }> }>>(
        "/atanas_kim_2023_encoding",
      );
    assert.deepEqual(Object.keys(ak.body), [NORM]);
    assert.deepEqual(ak.body[NORM]!.neuron["1"], {
      name: "AVAL",
      label: "AVAL",
      class: "AVA",
      idx_neruon: 1,
    });
    assert.equal(ak.headers.get("cache-control"), "public, max-age=2592000");
    const fn = await get<{
      class: Record<string, string[][]>;
      match: Record<string, Record<string, number[]>>;
    }>("/find_neuron");
    assert.deepEqual(fn.body.class.AVA, [
      ["x", "l"],
      ["x", "r"],
    ]);
    assert.deepEqual(fn.body.match, {
      AVA_l_x: { [NORM]: [1] },
      RIM_r_x: { [NORM]: [4] },
      AVA_r_x: { [LEGACY]: [2] },
    });
  });

  it("bad input: unknown dataset 404, index out of range 404, bad index 400", async () => {
    const unknown = await get("/nope-2020/1");
    assert.equal(unknown.status, 404);
    assert.match(detail(unknown.body), /Unknown activity dataset nope-2020/);
    const range = await get(`/${NORM}/7`);
    assert.equal(range.status, 404);
    assert.match(detail(range.body), /has 6 neurons, not 7/);
    const bad = await get(`/${NORM}/abc`);
    assert.equal(bad.status, 400);
    assert.match(detail(bad.body), /idx/);
  });

  it("re-ingest is idempotent, and a tampered file is refused before anything is written", async () => {
    const before = await dump("activity_datasets", "activity_meta");
    await ingest();
    assert.deepEqual(await dump("activity_datasets", "activity_meta"), before);
    const scratch = mkdtempSync(path.join(tmpdir(), "activity-"));
    try {
      cpSync(DIR, scratch, { recursive: true });
      writeFileSync(path.join(scratch, "datasets", `${LEGACY}.json`), "{}");
      await assert.rejects(
        readActivityFolder(scratch),
        new RegExp(`${LEGACY}\\.json: SHA-256 [0-9a-f]+ does not match`),
      );
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  describe("who may read", () => {
    const seedPrivate = async () => {
      await ingest();
      const db = firestore();
      const doc = (await db.doc(`activity_datasets/${NORM}`).get()).data()!;
      // A private copy under the clio dataset private-ds, pointing at the same objects' version.
      await db.doc(`activity_datasets/${PRIVATE_DS}`).set({ ...doc, dataset_id: PRIVATE_DS, public: false });
      const prefix = `activity/${NORM}/${doc.version as string}/`;
      const [files] = await storage.bucket(BUCKET).getFiles({ prefix });
      for (const f of files)
        await f.copy(
          storage.bucket(BUCKET).file(f.name.replace(`activity/${NORM}/`, `activity/${PRIVATE_DS}/`)),
        );
    };
    before(async function () {
      this.timeout(60_000);
      // A fresh group so its dataset cache sees the private copy.
      await server.close();
      server = await serve(makeActivityApi(), {
        storageApiEndpoint: gcs.url,
        activityBucket: BUCKET,
        cacheSeconds: 0,
      });
    });
    const publicOk = {
      anonymous: 200,
      unknown: 200,
      reader: 200,
      writer: 200,
      datasetAdmin: 200,
      admin: 200,
      disabled: 403,
    };
    it("a public dataset: anyone; a private one: its readers", async function () {
      this.timeout(120_000);
      await checkMatrix(
        server,
        tokens,
        { method: "GET", path: `/v2/activity/${NORM}/1` },
        publicOk,
        seedPrivate,
      );
      await checkMatrix(
        server,
        tokens,
        { method: "GET", path: `/v2/activity/${PRIVATE_DS}/1` },
        { ...publicOk, anonymous: 401, unknown: 403 },
        seedPrivate,
      );
    });
  });
});
