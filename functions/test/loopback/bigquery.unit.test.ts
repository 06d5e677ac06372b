/** The loopback BigQuery that the real `@google-cloud/bigquery` client talks to (no emulator exists). */
import assert from "node:assert/strict";
import { BigQuery } from "@google-cloud/bigquery";
import { startBigQueryServer, type BigQueryServer } from "../../loopback/bigquery.js";

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
