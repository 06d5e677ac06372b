import assert from "node:assert/strict";

import type { Firestore } from "firebase-admin/firestore";

import { startUpstreamServer, type UpstreamServer } from "../../loopback/upstream.js";
import { ApiError } from "../../src/errors.js";
import {
  getRun,
  getSourceState,
  harvestWriteBench,
  runHarvest,
  startRun,
} from "../../src/services/harvest.js";
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
      const run = await runHarvest(deps(), "neuromorpho", fastOptions(upstream.url, { pageSize: 20 }));
      assert.equal(run.status, "complete");
      assert.equal((await recordsOf(db, "neuromorpho")).length, 120);
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
      assert.equal((await recordsOf(db, "modeldb")).length, 60);
    });

    it("an empty page that never recovers makes the run partial, and nothing is withdrawn", async () => {
      await runHarvest(deps(), "neuromorpho", fastOptions(upstream.url, { pageSize: 20 }));
      upstream.remove("neuromorpho", "9");
      upstream.faults.push({ match: "page=3&size", kind: "empty", times: Infinity });
      const run = await runHarvest(deps(), "neuromorpho", fastOptions(upstream.url, { pageSize: 20 }));
      assert.equal(run.status, "partial");
      assert.ok(run.errors.some((e) => /empty/.test(e.message)));
      assert.equal(run.counts.withdrawn, 0);
      assert.equal((await recordDoc(db, "neuromorpho:9")).get("withdrawn"), false);
    });
  });

  describe("resuming", () => {
    it("a crashed run is taken over once its lease expires, with no duplicates and nothing lost", async () => {
      const clock = manualClock();
      let steps = 0;
      const crash = new Error("instance killed");
      await assert.rejects(
        runHarvest({ ...deps(), now: clock.now }, "neuromorpho", {
          ...fastOptions(upstream.url, { pageSize: 20, leaseMs: 60_000 }),
          onProgress: () => {
            if (++steps === 3) throw crash;
          },
        }),
        crash,
      );
      assert.equal((await recordsOf(db, "neuromorpho")).length, 60);

      // The dead worker's lease still holds: a second worker must not run alongside it.
      await assert.rejects(
        runHarvest({ ...deps(), now: clock.now }, "neuromorpho", fastOptions(upstream.url, { pageSize: 20 })),
        (err: unknown) => err instanceof ApiError && err.code === "conflict",
      );

      clock.advance(61_000);
      const requestsBefore = upstream.requests.length;
      const run = await runHarvest(
        { ...deps(), now: clock.now },
        "neuromorpho",
        fastOptions(upstream.url, { pageSize: 20 }),
      );
      assert.equal(run.status, "complete");
      assert.equal(run.invocations, 2);
      assert.ok(
        !upstream.requests.slice(requestsBefore).some((r) => r.includes("page=0&")),
        "resumed after the last checkpoint",
      );
      const records = await recordsOf(db, "neuromorpho");
      assert.equal(records.length, 120);
      assert.equal(new Set(records.map((r) => r.id)).size, 120);
      assert.equal(run.counts.created, 120);
    });

    it("a run that spends its time budget pauses and the next invocation continues the same run", async () => {
      const clock = manualClock();
      const options = {
        ...fastOptions(upstream.url, { pageSize: 10, timeBudgetMs: 10_000 }),
        onProgress: () => clock.advance(4_000),
      };
      const first = await runHarvest({ ...deps(), now: clock.now }, "modeldb", options);
      assert.equal(first.status, "paused");
      assert.ok(first.counts.fetched > 0 && first.counts.fetched < 60);
      const state = await getSourceState(db, "modeldb");
      assert.equal(state.activeRunId, first.id);
      assert.equal(state.leaseOwner, null, "a paused run holds no lease");

      let run = first;
      for (let i = 0; i < 10 && run.status === "paused"; i++) {
        run = await runHarvest({ ...deps(), now: clock.now }, "modeldb", options);
      }
      assert.equal(run.id, first.id);
      assert.equal(run.status, "complete");
      assert.equal(run.counts.created, 60);
      assert.equal((await recordsOf(db, "modeldb")).length, 60);
    });

    it("an aborted run pauses at once and resumes where it stopped", async () => {
      const controller = new AbortController();
      const first = await runHarvest(deps(), "dandi", {
        ...fastOptions(upstream.url, { pageSize: 5 }),
        signal: controller.signal,
        onProgress: (r) => {
          if (r.counts.fetched >= 10) controller.abort();
        },
      });
      assert.equal(first.status, "paused");
      assert.equal(first.counts.fetched, 10);
      const run = await runHarvest(deps(), "dandi", fastOptions(upstream.url, { pageSize: 5 }));
      assert.equal(run.id, first.id);
      assert.equal(run.status, "complete");
      assert.equal(run.counts.created, 30);
      assert.equal((await recordsOf(db, "dandi")).length, 30);
    });

    it("startRun creates a run the next invocation works on, and getRun reports it", async () => {
      const started = await startRun({ db }, "hippocampome");
      assert.equal(started.status, "paused");
      assert.equal((await startRun({ db }, "hippocampome")).id, started.id, "one active run per source");
      const run = await runHarvest(deps(), "hippocampome", fastOptions(upstream.url));
      assert.equal(run.id, started.id);
      const stored = await getRun(db, started.id);
      assert.equal(stored?.status, "complete");
      assert.equal(stored?.counts.created, 30);
      assert.equal(await getRun(db, "nope"), null);
    });
  });

  describe("idempotence and mark-and-sweep", () => {
    it("an unchanged record is not rewritten; a changed one is updated", async () => {
      await runHarvest(deps(), "neuromorpho", fastOptions(upstream.url, { pageSize: 50 }));
      const before = await recordDoc(db, "neuromorpho:10");
      const changedBefore = await recordDoc(db, "neuromorpho:7");
      upstream.change("neuromorpho", "7");

      const run = await runHarvest(deps(), "neuromorpho", fastOptions(upstream.url, { pageSize: 50 }));
      assert.equal(run.status, "complete");
      assert.deepEqual(
        { created: run.counts.created, updated: run.counts.updated, unchanged: run.counts.unchanged },
        { created: 0, updated: 1, unchanged: 119 },
      );
      const after = await recordDoc(db, "neuromorpho:10");
      assert.ok(after.updateTime!.isEqual(before.updateTime!), "unchanged record kept its updateTime");
      assert.equal(after.get("lastSeenRun"), before.get("lastSeenRun"));

      const changed = await recordDoc(db, "neuromorpho:7");
      assert.ok(!changed.updateTime!.isEqual(changedBefore.updateTime!));
      assert.match(changed.get("description") as string, /Revised\.$/);
      assert.equal(changed.get("sourceModified"), "2025-01-01");
      assert.equal(changed.get("lastSeenRun"), run.id);
    });

    it("ModelDB refetches only models whose version date changed", async () => {
      await runHarvest(deps(), "modeldb", fastOptions(upstream.url));
      upstream.change("modeldb", "35358");
      const from = upstream.requests.length;
      const run = await runHarvest(deps(), "modeldb", fastOptions(upstream.url));
      const details = upstream.requests.slice(from).filter((r) => /^\/api\/v1\/models\/\d+$/.test(r));
      assert.deepEqual(details, ["/api/v1/models/35358"]);
      assert.equal(run.counts.updated, 1);
      assert.equal(run.counts.unchanged, 59);
      assert.match((await recordDoc(db, "modeldb:35358")).get("name") as string, /\(revised\)$/);
    });

    it("DANDI incremental runs list by modification and stop at the watermark", async () => {
      await runHarvest(deps(), "dandi", fastOptions(upstream.url, { pageSize: 5 }));
      upstream.change("dandi", "000214");
      const from = upstream.requests.length;
      const run = await runHarvest(
        deps(),
        "dandi",
        fastOptions(upstream.url, { pageSize: 5, mode: "incremental" }),
      );
      assert.equal(run.status, "complete");
      assert.equal(run.counts.updated, 1);
      const lists = upstream.requests.slice(from).filter((r) => r.startsWith("/api/dandisets/?"));
      assert.equal(lists.length, 1, "the first page already reached the watermark");
      assert.match(lists[0]!, /ordering=-modified/);
      assert.match((await recordDoc(db, "dandi:000214")).get("name") as string, /\(revised\)$/);
    });

    it("a record removed upstream is withdrawn after the next complete run, not after a partial one", async () => {
      await runHarvest(deps(), "modeldb", fastOptions(upstream.url));
      const removed = upstream.ids("modeldb").find((id) => id !== "35358")!;
      upstream.remove("modeldb", removed);

      const limited = await runHarvest(deps(), "modeldb", fastOptions(upstream.url, { limit: 20 }));
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
      assert.equal((await recordsOf(db, "modeldb")).filter((r) => !r.withdrawn).length, 59);
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
