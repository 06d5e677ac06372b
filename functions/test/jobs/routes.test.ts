/**
 * The /v2/jobs routes and the `?async=true` forms that create jobs: who may do what, paging, and
 * that a refused request writes no job.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Job, JobAccepted } from "../../src/schemas/jobs.js";
import { AUDIT, type AuditEntry } from "../../src/store/audit.js";
import { firestore } from "../../src/store/firebase.js";
import { TRANSFER_MODEL } from "../clio-services/stack.js";
import { checkMatrix } from "../helpers/matrix.js";
import { call, PERSONAS, PRIVATE_DS, PUBLIC_DS, type Persona } from "../helpers/server.js";
import { allJobs, jobsSuite, seedJob, startJobsWorld } from "./fixture.js";

/** The audit entries of job cancels. */
async function cancelEntries(): Promise<AuditEntry[]> {
  const snap = await firestore().collection(AUDIT).where("action", "==", "jobs.cancel").get();
  return snap.docs.map((d) => d.data() as AuditEntry);
}

/** Who may read or cancel the reader's job: its owner and admins; anyone else gets a 404. */
const OWNER_OR_ADMIN: Record<Persona, number> = {
  anonymous: 401,
  unknown: 404,
  reader: 200,
  writer: 404,
  datasetAdmin: 404,
  admin: 200,
  disabled: 403,
};

interface ErrorBody {
  detail: string;
  code: string;
}

describe("/v2/jobs and the routes that start jobs", () => {
  const suite = jobsSuite();
  const req = suite.req;
  const transferBody = { dataset: PRIVATE_DS, model_name: TRANSFER_MODEL, center: [1, 2, 3] };
  /** The reader's running job, seeded for every persona of a matrix. */
  const readersJob = async () => {
    await seedJob("readersjob", PERSONAS.reader);
  };

  it("GET /v2/jobs/{id}: the owner and admins read it; anyone else gets 404, as for no job", async () => {
    await checkMatrix(
      suite.world.api,
      suite.tokens,
      { method: "GET", path: "/v2/jobs/readersjob" },
      OWNER_OR_ADMIN,
      readersJob,
    );
    const at = await seedJob("readersjob", PERSONAS.reader);
    const mine = await req<Job>("reader", "GET", "/v2/jobs/readersjob");
    assert.deepEqual(mine.body, {
      id: "readersjob",
      owner: PERSONAS.reader,
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
    });
    const theirs = await req<ErrorBody>("writer", "GET", "/v2/jobs/readersjob");
    const none = await req<ErrorBody>("writer", "GET", "/v2/jobs/nosuchjob");
    assert.equal(theirs.body.detail, "No job readersjob");
    assert.equal(none.body.detail, "No job nosuchjob");
  });

  it("cancel (POST .../cancel and DELETE): the owner and admins; others get 404 and change nothing", async () => {
    for (const request of [
      { method: "POST", path: "/v2/jobs/readersjob/cancel" },
      { method: "DELETE", path: "/v2/jobs/readersjob" },
    ]) {
      await checkMatrix(suite.world.api, suite.tokens, request, OWNER_OR_ADMIN, readersJob);
    }
    await readersJob();
    assert.equal((await req("writer", "POST", "/v2/jobs/readersjob/cancel")).status, 404);
    assert.equal((await allJobs()).get("readersjob")!.cancelRequested, false);
    const cancelled = await req<Job>("reader", "POST", "/v2/jobs/readersjob/cancel");
    assert.equal(cancelled.body.cancelRequested, true);
    assert.equal(cancelled.body.state, "running", "a running job stops at its next item");
    assert.equal((await allJobs()).get("readersjob")!.cancelRequested, true);
  });

  it("cancel writes an audit entry: who, which job, its dataset, a digest of the answer; a refusal none", async () => {
    await seedJob("readersjob", PERSONAS.reader, { dataset: PRIVATE_DS });
    assert.equal((await req("writer", "DELETE", "/v2/jobs/readersjob")).status, 404);
    assert.deepEqual(await cancelEntries(), [], "a refused cancel is not audited");
    const res = await req<Job>("reader", "POST", "/v2/jobs/readersjob/cancel");
    assert.equal(res.status, 200);
    const [entry, ...more] = await cancelEntries();
    assert.deepEqual(more, []);
    assert.equal(entry!.actor, PERSONAS.reader);
    assert.equal(entry!.method, "POST");
    assert.equal(entry!.path, "/v2/jobs/readersjob/cancel");
    assert.deepEqual(entry!.target, { id: "readersjob" });
    assert.deepEqual(entry!.datasets, [PRIVATE_DS]);
    assert.equal(entry!.after, createHash("sha256").update(JSON.stringify(res.body)).digest("hex"));
  });

  it("cancel of a finished job is a conflict; of a cancelled one, a no-op", async () => {
    await seedJob("finished", PERSONAS.reader, { state: "done" });
    await seedJob("stopped", PERSONAS.reader, { state: "cancelled", cancelRequested: true });
    const done = await req<ErrorBody>("reader", "POST", "/v2/jobs/finished/cancel");
    assert.equal(done.status, 409);
    assert.match(done.body.detail, /already ended \(done\)/);
    assert.equal((await allJobs()).get("finished")!.cancelRequested, false);
    const again = await req<Job>("reader", "DELETE", "/v2/jobs/stopped");
    assert.equal(again.status, 200);
    assert.equal(again.body.state, "cancelled");
  });

  it("GET /v2/jobs lists only the caller's jobs, newest first, in bounded pages", async () => {
    await checkMatrix(
      suite.world.api,
      suite.tokens,
      { method: "GET", path: "/v2/jobs" },
      {
        anonymous: 401,
        unknown: 200,
        reader: 200,
        writer: 200,
        datasetAdmin: 200,
        admin: 200,
        disabled: 403,
      },
    );
    await suite.world.reset();
    for (let i = 0; i < 5; i++) {
      const res = await req<JobAccepted>("reader", "POST", "/v2/transfer?async=true", transferBody);
      assert.equal(res.status, 202, JSON.stringify(res.body));
    }
    await seedJob("writersjob", PERSONAS.writer);
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const path: string = `/v2/jobs?limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const page = await req<{ jobs: Job[]; next: string | null }>("reader", "GET", path);
      assert.equal(page.status, 200);
      assert.ok(page.body.jobs.length <= 2);
      for (const job of page.body.jobs) assert.equal(job.owner, PERSONAS.reader);
      ids.push(...page.body.jobs.map((j) => j.id));
      cursor = page.body.next;
      pages++;
    } while (cursor);
    assert.equal(pages, 3);
    assert.equal(new Set(ids).size, 5);
    const stored = await allJobs();
    const created = ids.map((id) => stored.get(id)!.createdAt.toMillis());
    assert.deepEqual(
      created,
      [...created].sort((a, b) => b - a),
      "newest first",
    );
    const admin = await req<{ jobs: Job[] }>("admin", "GET", "/v2/jobs");
    assert.deepEqual(admin.body.jobs, [], "the list is the caller's own, admins included");
  });

  it("refuses bad input with a 400 that names it", async () => {
    const cases: [string, string, RegExp][] = [
      ["GET", "/v2/jobs?limit=0", /limit/],
      ["GET", "/v2/jobs?limit=101", /limit/],
      ["GET", "/v2/jobs?limit=x", /limit/],
      ["GET", "/v2/jobs?cursor=notacursor", /cursor/],
      ["GET", "/v2/jobs/bad%20id", /not a job id/],
      ["POST", "/v2/jobs/bad.id/cancel", /not a job id/],
    ];
    for (const [method, path, named] of cases) {
      const res = await req<ErrorBody>("reader", method, path);
      assert.equal(res.status, 400, path);
      assert.match(JSON.stringify(res.body), named, path);
    }
  });

  it("?async=true checks everything first: a refused request writes no job", async () => {
    const refusals: [Persona, string, unknown, number, RegExp][] = [
      [
        "reader",
        "/v2/transfer?async=true",
        { ...transferBody, model_name: "nope:v1" },
        400,
        /nope:v1 is not available/,
      ],
      ["reader", "/v2/transfer?async=true", { ...transferBody, center: [1, 2] }, 400, /center/],
      ["reader", "/v2/transfer?async=maybe", transferBody, 400, /async/],
      [
        "reader",
        "/v2/transfer?async=true",
        { ...transferBody, dataset: PUBLIC_DS },
        403,
        /lacks clio_general/,
      ],
      ["unknown", "/v2/transfer?async=true", transferBody, 403, /lacks/],
      ["anonymous", "/v2/transfer?async=true", transferBody, 401, /./],
      ["reader", "/v2/catalog/download?async=true", { ids: [] }, 400, /Invalid body/],
      ["reader", "/v2/catalog/download?async=true", { q: "", filters: { nonsense: "x" } }, 400, /nonsense/],
      ["reader", "/v2/catalog/index?async=true", undefined, 403, /lacks is_admin|admin/],
      ["writer", "/v2/catalog/harvest/dandi?async=true", {}, 403, /admin/],
      ["admin", "/v2/catalog/harvest/nowhere?async=true", {}, 400, /source/],
    ];
    for (const [persona, path, body, status, named] of refusals) {
      const res = await req<ErrorBody>(persona, "POST", path, body);
      assert.equal(
        res.status,
        status,
        `${persona} ${path} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`,
      );
      assert.match(JSON.stringify(res.body), named, `${path}: ${JSON.stringify(res.body)}`);
    }
    assert.equal((await allJobs()).size, 0);
    assert.equal(suite.world.transfer.requests.length, 0);
  });

  it("a selection over the download limit is refused with 409 before any job", async () => {
    const small = await startJobsWorld({ catalogDownloadMaxRecords: 1 });
    try {
      await small.reset();
      const res = await call<ErrorBody>(small.api.url, "POST", "/v2/catalog/download?async=true", {
        token: suite.tokens.reader,
        body: { ids: ["neuromorpho:1", "modeldb:2488"] },
      });
      assert.equal(res.status, 409);
      assert.match(res.body.detail, /at most 1/);
      assert.equal((await allJobs()).size, 0);
    } finally {
      await small.close();
    }
  });

  it("bundles without CATALOG_BUCKET are refused with 503 before any job", async () => {
    const nobucket = await startJobsWorld({ catalogBucket: "" });
    try {
      await nobucket.reset();
      const res = await call<ErrorBody>(nobucket.api.url, "POST", "/v2/catalog/download?async=true", {
        token: suite.tokens.reader,
        body: { ids: ["neuromorpho:1"] },
      });
      assert.equal(res.status, 503);
      assert.match(res.body.detail, /CATALOG_BUCKET/);
      assert.equal((await allJobs()).size, 0);
    } finally {
      await nobucket.close();
    }
  });
});
