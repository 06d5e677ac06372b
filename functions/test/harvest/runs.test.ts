import assert from "node:assert/strict";

import type { Firestore } from "firebase-admin/firestore";

import { startUpstreamServer, type UpstreamServer } from "../../loopback/upstream.js";
import { ApiError } from "../../src/errors.js";
import { getRun, getSourceState, runHarvest, startRun } from "../../src/services/harvest.js";
import { harvestWriteBench } from "../../../bench/harvest.js";
import { firestore } from "../../src/store/firebase.js";
import { clearFirestore } from "../setup/hooks.js";
import { fastOptions, manualClock, quietLog, recordDoc, recordsOf } from "./helpers.js";

describe("harvest runs", () => {
  let db: Firestore;
  let upstream: UpstreamServer;
  const deps = () => ({ db, log: quietLog });

  beforeEach(async () => {
    db = firestore();
    await clearFirestore();
    upstream = await startUpstreamServer();
  });
  afterEach(async () => upstream.close());

  describe("upstream faults", () => {
    it("survives a 500, a 429 with Retry-After, a hang, malformed JSON and an empty page", async () => {
      upstream.faults.push(
        { match: "page=1&size", kind: "status", status: 500 },
        { match: "page=2&size", kind: "status", status: 429, retryAfter: 1 },
        { match: "page=3&size", kind: "hang" },
        { match: "page=4&size", kind: "malformed" },
        { match: "page=5&size", kind: "empty" },
      );
      const run = await runHarvest(deps(), "neuromorpho", fastOptions(upstream.url, { pageSize: 5 }));
      assert.equal(run.status, "complete");
      assert.equal((await recordsOf(db, "neuromorpho")).length, 35);
      assert.equal(upstream.faults.length, 0, "every fault was hit");
      for (const page of [1, 2, 3, 4, 5]) {
        const hits = upstream.requests.filter((r) => r.includes(`page=${page}&size`)).length;
        assert.equal(hits, 2, `page ${page} was asked for again after its fault`);
      }
    });

    it("a ModelDB detail that keeps failing pauses the run; the next invocation finishes it", async () => {
      upstream.faults.push({ match: "/api/v1/models/35358", kind: "status", status: 503, times: 4 });
      const first = await runHarvest(deps(), "modeldb", fastOptions(upstream.url));
      assert.equal(first.status, "paused");
      assert.equal(first.counts.errors, 1);
      assert.match(first.errors[0]!.message, /503/);
      const second = await runHarvest(deps(), "modeldb", fastOptions(upstream.url));
      assert.equal(second.id, first.id);
      assert.equal(second.status, "complete");
      assert.equal(second.invocations, 2);
      assert.equal((await recordsOf(db, "modeldb")).length, 14);
    });

    it("an empty page that never recovers makes the run partial, and nothing is withdrawn", async () => {
      await runHarvest(deps(), "neuromorpho", fastOptions(upstream.url, { pageSize: 5 }));
      upstream.remove("neuromorpho", "900009");
      upstream.faults.push({ match: "page=3&size", kind: "empty", times: Infinity });
      const run = await runHarvest(deps(), "neuromorpho", fastOptions(upstream.url, { pageSize: 5 }));
      assert.equal(run.status, "partial");
      assert.ok(run.errors.some((e) => /empty/.test(e.message)));
      assert.equal(run.counts.withdrawn, 0);
      assert.equal((await recordDoc(db, "neuromorpho:900009")).get("withdrawn"), false);
    });
  });

  describe("resuming", () => {
    it("a crashed run is taken over once its lease expires, with no duplicates and nothing lost", async () => {
      const clock = manualClock();
      let steps = 0;
      const crash = new Error("instance killed");
      await assert.rejects(
        runHarvest({ ...deps(), now: clock.now }, "neuromorpho", {
          ...fastOptions(upstream.url, { pageSize: 5, leaseMs: 60_000 }),
          onProgress: () => {
            if (++steps === 3) throw crash;
          },
        }),
        crash,
      );
      assert.equal((await recordsOf(db, "neuromorpho")).length, 15);

      // The dead worker's lease still holds: a second worker must not run alongside it.
      await assert.rejects(
        runHarvest({ ...deps(), now: clock.now }, "neuromorpho", fastOptions(upstream.url, { pageSize: 5 })),
        (err: unknown) => err instanceof ApiError && err.code === "conflict",
      );

      clock.advance(61_000);
      const requestsBefore = upstream.requests.length;
      const run = await runHarvest(
        { ...deps(), now: clock.now },
        "neuromorpho",
        fastOptions(upstream.url, { pageSize: 5 }),
      );
      assert.equal(run.status, "complete");
      assert.equal(run.invocations, 2);
      assert.ok(
        !upstream.requests.slice(requestsBefore).some((r) => r.includes("page=0&")),
        "resumed after the last checkpoint",
      );
      const records = await recordsOf(db, "neuromorpho");
      assert.equal(records.length, 35);
      assert.equal(new Set(records.map((r) => r.id)).size, 35);
      assert.equal(run.counts.created, 35);
    });

    it("an unreadable dandiset stays seen: a complete run never withdraws it", async () => {
      const first = await runHarvest(deps(), "dandi", fastOptions(upstream.url));
      assert.equal(first.status, "complete");
      upstream.dandiMoment = "after";
      // 000552's newly published version cannot be read this time (a 404 on its version).
      upstream.faults.push({ match: "/api/dandisets/000552/versions/", kind: "status", status: 404 });
      const run = await runHarvest(deps(), "dandi", fastOptions(upstream.url));
      assert.equal(run.status, "complete");
      assert.equal(run.counts.withdrawn, 0);
      assert.equal(run.counts.unreadable, 2);
      assert.deepEqual(run.unreadable.map((u) => u.id).sort(), ["dandi:000061", "dandi:000552"]);
      assert.equal((await recordDoc(db, "dandi:000552")).get("withdrawn"), false);
    });

    it("a run that spends its time budget pauses and the next invocation continues the same run", async () => {
      const clock = manualClock();
      const options = {
        ...fastOptions(upstream.url, { pageSize: 2, timeBudgetMs: 10_000 }),
        onProgress: () => clock.advance(4_000),
      };
      const first = await runHarvest({ ...deps(), now: clock.now }, "modeldb", options);
      assert.equal(first.status, "paused");
      assert.ok(first.counts.fetched > 0 && first.counts.fetched < 14);
      const state = await getSourceState(db, "modeldb");
      assert.equal(state.activeRunId, first.id);
      assert.equal(state.leaseOwner, null, "a paused run holds no lease");

      let run = first;
      for (let i = 0; i < 10 && run.status === "paused"; i++) {
        run = await runHarvest({ ...deps(), now: clock.now }, "modeldb", options);
      }
      assert.equal(run.id, first.id);
      assert.equal(run.status, "complete");
      assert.equal(run.counts.created, 14);
      assert.equal((await recordsOf(db, "modeldb")).length, 14);
    });

    it("an aborted run pauses at once and resumes where it stopped", async () => {
      const controller = new AbortController();
      const first = await runHarvest(deps(), "dandi", {
        ...fastOptions(upstream.url, { pageSize: 1 }),
        signal: controller.signal,
        onProgress: (r) => {
          if (r.counts.fetched >= 1) controller.abort();
        },
      });
      assert.equal(first.status, "paused");
      assert.equal(first.counts.fetched, 1);
      const run = await runHarvest(deps(), "dandi", fastOptions(upstream.url, { pageSize: 1 }));
      assert.equal(run.id, first.id);
      assert.equal(run.status, "complete");
      assert.equal(run.counts.created, 2);
      assert.equal(run.counts.unreadable, 1);
      assert.equal((await recordsOf(db, "dandi")).length, 2);
    });

    it("startRun creates a run the next invocation works on, and getRun reports it", async () => {
      const started = await startRun({ db }, "hippocampome");
      assert.equal(started.status, "paused");
      assert.equal((await startRun({ db }, "hippocampome")).id, started.id, "one active run per source");
      const run = await runHarvest(deps(), "hippocampome", fastOptions(upstream.url));
      assert.equal(run.id, started.id);
      const stored = await getRun(db, started.id);
      assert.equal(stored?.status, "complete");
      assert.equal(stored?.counts.created, 147);
      assert.equal(await getRun(db, "nope"), null);
    });
  });

  describe("idempotence and mark-and-sweep", () => {
    it("an unchanged record is not rewritten; an edited ModelDB model alone is refetched and updated", async () => {
      await runHarvest(deps(), "modeldb", fastOptions(upstream.url));
      const before = await recordDoc(db, "modeldb:66268");
      const changedBefore = await recordDoc(db, "modeldb:35358");
      upstream.editModel("35358");
      const from = upstream.requests.length;
      const run = await runHarvest(deps(), "modeldb", fastOptions(upstream.url));
      assert.equal(run.status, "complete");
      const details = upstream.requests.slice(from).filter((r) => /^\/api\/v1\/models\/\d+$/.test(r));
      assert.deepEqual(details, ["/api/v1/models/35358"]);
      assert.deepEqual(
        { created: run.counts.created, updated: run.counts.updated, unchanged: run.counts.unchanged },
        { created: 0, updated: 1, unchanged: 13 },
      );
      const after = await recordDoc(db, "modeldb:66268");
      assert.ok(after.updateTime!.isEqual(before.updateTime!), "unchanged record kept its updateTime");
      assert.equal(after.get("lastSeenRun"), before.get("lastSeenRun"));
      const changed = await recordDoc(db, "modeldb:35358");
      assert.ok(!changed.updateTime!.isEqual(changedBefore.updateTime!));
      assert.match(changed.get("name") as string, /\(revised\)$/);
      assert.equal(changed.get("sourceVersion"), "21");
      assert.equal(changed.get("lastSeenRun"), run.id);
    });

    it("a record removed upstream is withdrawn after the next complete run, not after a partial one", async () => {
      await runHarvest(deps(), "modeldb", fastOptions(upstream.url));
      const removed = "66268";
      upstream.remove("modeldb", removed);

      const limited = await runHarvest(deps(), "modeldb", fastOptions(upstream.url, { limit: 5 }));
      assert.equal(limited.status, "partial");
      assert.equal((await recordDoc(db, `modeldb:${removed}`)).get("withdrawn"), false);

      const incremental = await runHarvest(
        deps(),
        "modeldb",
        fastOptions(upstream.url, { mode: "incremental" }),
      );
      assert.equal(incremental.counts.withdrawn, 0, "an incremental run never withdraws");

      const full = await runHarvest(deps(), "modeldb", fastOptions(upstream.url));
      assert.equal(full.status, "complete");
      assert.equal(full.counts.withdrawn, 1);
      const doc = await recordDoc(db, `modeldb:${removed}`);
      assert.equal(doc.get("withdrawn"), true);
      assert.equal(doc.get("withdrawnAt"), doc.get("harvestedAt"));
      assert.equal((await recordsOf(db, "modeldb")).filter((r) => !r.withdrawn).length, 13);
      assert.equal((await getSourceState(db, "modeldb")).lastCompleteRunId, full.id);
    });

    it("the write path reports what it wrote, and a second pass writes nothing", async () => {
      const first = await harvestWriteBench(db, 120, { batchSize: 50, runId: "bench-a" });
      assert.equal(first.written, 120);
      const second = await harvestWriteBench(db, 120, { batchSize: 50, runId: "bench-a" });
      assert.equal(second.written, 0);
    });
  });
});
