import assert from "node:assert/strict";
import type { Manifest } from "../../src/services/catalog/download.js";
import type { Job, JobAccepted } from "../../src/schemas/jobs.js";
import { readZip } from "../catalog/fixture.js";
import { TRANSFER_MODEL } from "../clio-services/stack.js";
import { call, PRIVATE_DS, type Persona } from "../helpers/server.js";
import { jobKinds } from "../../src/services/jobs/kinds.js";
import { runJob } from "../../src/services/jobs/runner.js";
import { allJobs, BUCKET, DEST, jobsSuite } from "./fixture.js";

describe("jobs: transfer, catalog bundle, index rebuild and harvest run to their end", () => {
  const suite = jobsSuite();
  const start = async (persona: Persona, path: string, body?: unknown) => {
    const res = await suite.req<JobAccepted>(persona, "POST", path, body);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.headers.get("location"), `/v2/jobs/${res.body.job.id}`);
    assert.equal(res.body.job.state, "queued");
    return res.body.job.id;
  };
  const read = async (persona: Persona, id: string) => {
    const res = await suite.req<Job>(persona, "GET", `/v2/jobs/${id}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const transferBody = { dataset: PRIVATE_DS, model_name: TRANSFER_MODEL, center: [1000, 2000, 3000] };

  it("a transfer job answers 202 at once, then runs the eight blocks and ends done with the link", async () => {
    const id = await start("reader", "/v2/transfer?async=true", transferBody);
    assert.equal(suite.world.transfer.requests.length, 0, "nothing runs before the trigger");
    const outcome = await suite.world.run(id);
    assert.equal(outcome.state, "done");
    assert.equal(suite.world.transfer.requests.length, 8);
    const job = await read("reader", id);
    assert.equal(job.state, "done");
    assert.equal(job.owner, "reader@example.org");
    assert.equal(job.kind, "transfer");
    assert.equal(job.dataset, PRIVATE_DS);
    assert.deepEqual(job.progress, { fraction: 1, done: 8, total: 8, message: "done" });
    assert.equal(job.error, null);
    const addr = String(job.result?.addr);
    const dir = /precomputed%3A%2F%2Fgs%3A%2F%2Ftransfer-out%2F([a-z]{20})/.exec(addr)?.[1];
    assert.ok(dir, addr);
    const [info] = await suite.world.storage.bucket(DEST).file(`${dir}/info`).download();
    assert.equal((JSON.parse(info.toString()) as { type: string }).type, "image");
    assert.ok(job.startedAt && job.finishedAt && job.finishedAt >= job.startedAt);
  });

  it("a transfer the service refuses ends failed with the reason, and a second delivery does nothing", async () => {
    const id = await start("writer", "/v2/transfer?async=true", transferBody);
    suite.world.transfer.failNext(100, 503);
    assert.equal((await suite.world.run(id)).state, "failed");
    const job = await read("writer", id);
    assert.equal(job.state, "failed");
    assert.equal(job.error, "The transfer service failed 8 of 8 blocks");
    assert.equal(job.result, null);
    const before = suite.world.transfer.requests.length;
    assert.deepEqual(await suite.world.run(id), { state: undefined, writes: 0 });
    assert.equal(suite.world.transfer.requests.length, before, "a redelivered event does not start it again");
  });

  it("a bundle job writes the zip to the bucket and its result is a signed URL that downloads it", async () => {
    const id = await start("reader", "/v2/catalog/download?async=true", {
      ids: ["neuromorpho:1", "modeldb:2488", "nowhere:1"],
    });
    assert.equal((await suite.world.run(id)).state, "done");
    const job = await read("reader", id);
    assert.equal(job.kind, "catalog-bundle");
    assert.deepEqual(job.progress, { fraction: 1, done: 3, total: 3, message: "done" });
    const result = job.result as { url: string; size: number; records: number; notFound: string[] };
    assert.equal(result.records, 2);
    assert.deepEqual(result.notFound, ["nowhere:1"]);
    assert.ok(result.url.startsWith(suite.world.gcs.url), result.url);
    assert.match(result.url, /X-Goog-Signature=/);
    // Anyone holding the URL downloads it, with no credential of ours: that is the point.
    const res = await fetch(result.url);
    assert.equal(res.status, 200);
    const zip = Buffer.from(await res.arrayBuffer());
    assert.equal(zip.length, result.size);
    const entries = readZip(zip);
    assert.deepEqual(entries.map((e) => e.name).sort(), [
      "manifest.json",
      "modeldb_2488/2488.zip",
      "neuromorpho_1/n409.CNG.swc",
      "neuromorpho_1/n409.asc",
    ]);
    const manifest = JSON.parse(entries.find((e) => e.name === "manifest.json")!.data.toString()) as Manifest;
    assert.equal(manifest.totals.ok, 3);
    // A tampered URL is refused by the bucket.
    const tampered = await fetch(result.url.replace(/X-Goog-Signature=[0-9a-f]{4}/, "X-Goog-Signature=0000"));
    assert.equal(tampered.status, 403);
  });

  it("a transfer cancelled once it runs sends no block", async () => {
    const id = await start("reader", "/v2/transfer?async=true", transferBody);
    const deps = suite.world.api.deps;
    let ms = Date.now();
    const clock = () => new Date((ms += 1000));
    const kinds = jobKinds(deps);
    const outcome = await runJob(
      { ...deps, now: clock },
      {
        transfer: async (ctx) => {
          await call(suite.world.api.url, "DELETE", `/v2/jobs/${id}`, { token: suite.tokens.reader });
          return kinds.transfer!(ctx);
        },
      },
      id,
    );
    assert.equal(outcome.state, "cancelled");
    assert.equal((await read("reader", id)).state, "cancelled");
    assert.equal(suite.world.transfer.requests.length, 0);
  });

  it("a bundle cancelled while it runs stops before its next file and leaves no object", async () => {
    const id = await start("reader", "/v2/catalog/download?async=true", { ids: ["neuromorpho:1"] });
    const deps = suite.world.api.deps;
    // A clock a second further on at every reading, so every file is a progress (and cancel) step.
    let ms = Date.now();
    const clock = () => new Date((ms += 1000));
    const kinds = jobKinds(deps);
    const outcome = await runJob(
      { ...deps, now: clock },
      {
        // The owner cancels just after the runner claimed the job, before the first file.
        "catalog-bundle": async (ctx) => {
          const res = await call<Job>(suite.world.api.url, "POST", `/v2/jobs/${id}/cancel`, {
            token: suite.tokens.reader,
          });
          assert.equal(res.body.cancelRequested, true);
          return kinds["catalog-bundle"]!(ctx);
        },
      },
      id,
    );
    assert.equal(outcome.state, "cancelled");
    const job = await read("reader", id);
    assert.equal(job.state, "cancelled");
    assert.equal(job.result, null);
    assert.deepEqual(suite.world.files.requests, [], "no file was fetched");
    const [objects] = await suite.world.storage.bucket(BUCKET).getFiles({ prefix: `bundles/${id}/` });
    assert.deepEqual(
      objects.map((o) => o.name),
      [],
    );
  });

  it("the synchronous download and transfer still answer as before", async () => {
    const zip = await fetch(`${suite.world.api.url}/v2/catalog/download`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${suite.tokens.reader}` },
      body: JSON.stringify({ ids: ["neuromorpho:1"] }),
    });
    assert.equal(zip.status, 200);
    assert.equal(zip.headers.get("content-type"), "application/zip");
    await zip.arrayBuffer();
    const res = await call<{ addr: string }>(suite.world.api.url, "POST", "/v2/transfer", {
      token: suite.tokens.reader,
      body: transferBody,
    });
    assert.equal(res.status, 200);
    assert.match(res.body.addr, /^https:\/\/neuroglancer-demo\.appspot\.com\/#!/);
    assert.equal((await allJobs()).size, 0, "no job for a synchronous call");
  });

  it("an index rebuild job ends done with the published index's size", async () => {
    const id = await start("admin", "/v2/catalog/index?async=true");
    assert.equal((await suite.world.run(id)).state, "done");
    const job = await read("admin", id);
    assert.equal(job.kind, "index-rebuild");
    const index = await call<{ records: number }>(suite.world.api.url, "GET", "/v2/catalog/index", {
      token: suite.tokens.admin,
    });
    assert.equal(job.result?.records, index.body.records);
    assert.ok(index.body.records > 0);
  });

  it("a harvest job works on the source's run and ends with the run's id, status and counts", async () => {
    // DANDI points at a closed port here: the run records the failure and pauses for a retry.
    const id = await start("admin", "/v2/catalog/harvest/dandi?async=true", { limit: 1 });
    assert.equal((await suite.world.run(id)).state, "done");
    const job = await read("admin", id);
    assert.equal(job.kind, "harvest");
    const result = job.result as { runId: string; status: string; counts: { errors: number } };
    assert.equal(result.status, "paused");
    assert.equal(result.counts.errors, 1);
    const run = await call<{ id: string; status: string; limit: number }>(
      suite.world.api.url,
      "GET",
      `/v2/catalog/runs/${result.runId}`,
      { token: suite.tokens.admin },
    );
    assert.equal(run.status, 200);
    assert.equal(run.body.status, "paused");
    assert.equal(run.body.limit, 1);
  });
});
