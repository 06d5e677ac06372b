import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { BigQuery } from "@google-cloud/bigquery";
import { Storage } from "@google-cloud/storage";
import { startBigQueryServer, type BigQueryServer, type SeedTable } from "../../loopback/bigquery.js";
import { seedBucketFromDir, startStorageServer, type StorageServer } from "../../loopback/storage.js";
import { ApiError } from "../../src/errors.js";
import { createSignatureService, storageReadObject } from "../../src/services/signatures.js";
import { makeSignatureSeed } from "../../../scripts/make-signatures.js";

/** The committed seed, served the way `npm start` serves it: loopback Cloud Storage and BigQuery. */
describe("signatures over the committed seed and the loopback storage", () => {
  let storageServer: StorageServer;
  let bq: BigQueryServer;
  let storage: Storage;

  before(async () => {
    storageServer = await startStorageServer();
    storage = new Storage({ apiEndpoint: storageServer.url, projectId: "demo-neurofire" });
    await seedBucketFromDir(storage, "sigs", "emulator-data/signatures/demo", "demo/");
    const seed = JSON.parse(await readFile("emulator-data/signatures/bigquery.json", "utf8")) as {
      tables: Record<string, SeedTable>;
    };
    bq = await startBigQueryServer({ tables: seed.tables });
  });

  after(async () => {
    await bq.close();
    await storageServer.close();
  });

  const service = () =>
    createSignatureService({
      bucket: "sigs",
      readObject: storageReadObject(storage),
      bigquery: new BigQuery({ projectId: "demo-neurofire", apiEndpoint: bq.url }),
    });

  it("matches what the generator produces today", async () => {
    const fresh = makeSignatureSeed();
    for (const [name, content] of fresh.objects) {
      assert.ok((await readFile(`emulator-data/signatures/${name}`)).equals(content), `${name} is stale`);
    }
    const committed = JSON.parse(await readFile("emulator-data/signatures/bigquery.json", "utf8")) as unknown;
    assert.deepEqual(
      committed,
      { tables: fresh.tables },
      "bigquery.json is stale: run scripts/make-signatures.ts",
    );
  });

  it("finds a signature and its neighbours through the real storage and BigQuery clients", async () => {
    assert.deepEqual(await service().atLocation("demo", { x: 96, y: 96, z: 96 }), {
      point: [96, 96, 96],
      signature: "-7046029254386353131",
    });
    const like = await service().likeLocation("demo", { x: 96, y: 96, z: 96 });
    assert.deepEqual(
      like.matches.map((m) => [m.point, m.dist]),
      [
        [[416, 352, 160], 1],
        [[32, 416, 224], 3],
        [[480, 32, 32], 5],
      ],
    );
  });

  it("answers not found for a block the bucket does not have", async () => {
    await assert.rejects(
      service().atLocation("demo", { x: 9000, y: 9000, z: 9000 }),
      (err: unknown) => err instanceof ApiError && err.code === "not_found",
    );
  });
});

describe("loopback BigQuery", () => {
  let bq: BigQueryServer;
  let client: BigQuery;

  before(async () => {
    bq = await startBigQueryServer();
    client = new BigQuery({ projectId: "demo-neurofire", apiEndpoint: bq.url });
  });
  after(() => bq.close());

  it("creates, loads and queries tables through jobs.insert and getQueryResults, keeping INT64 exact", async () => {
    const [dataset] = await client.createDataset("ds");
    const [table] = await dataset.createTable("t", {
      schema: [
        { name: "id", type: "INTEGER" },
        { name: "name", type: "STRING" },
      ],
    });
    await table.insert([
      { id: "9223372036854775807", name: "max" },
      { id: "-9223372036854775808", name: "min" },
      { id: "7", name: "seven" },
    ]);
    const [job] = await client.createQueryJob({
      query:
        "SELECT id, name, BIT_COUNT(id ^ @mask) AS bits FROM `demo-neurofire.ds.t` WHERE name <> @skip ORDER BY name",
      params: { mask: BigQuery.int("-1"), skip: "seven" },
    });
    const [rows] = await job.getQueryResults({ wrapIntegers: { integerTypeCastFunction: (v: string) => v } });
    assert.deepEqual(rows, [
      { id: "9223372036854775807", name: "max", bits: "1" },
      { id: "-9223372036854775808", name: "min", bits: "63" },
    ]);
  });

  it("answers a missing table with BigQuery's notFound and bad SQL with invalidQuery", async () => {
    await assert.rejects(
      client.query("SELECT 1 FROM `nope.t`"),
      (err: unknown) => (err as { code?: number }).code === 404,
    );
    await assert.rejects(
      client.query("SELEC oops"),
      (err: unknown) => (err as { code?: number }).code === 400,
    );
  });
});
