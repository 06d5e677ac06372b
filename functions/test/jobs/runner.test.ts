/**
 * The runner with work of our own and an injected clock: how many writes a job costs, that the
 * progress its listeners see never goes back, and how a cancel stops it between items.
 */
import assert from "node:assert/strict";
import type { Firestore } from "firebase-admin/firestore";
import { JOBS_COLLECTION, type JobDoc } from "../../src/schemas/jobs.js";
import type { Logger } from "../../src/log.js";
import { runJob, type JobWork } from "../../src/services/jobs/runner.js";
import { cancelJob, createJob } from "../../src/services/jobs/store.js";
import { firestore } from "../../src/store/firebase.js";
import { clearFirestore } from "../setup/hooks.js";
import { fakeClock, quiet } from "./fixture.js";

const OWNER = "reader@example.org";

describe("job runner", () => {
  let db: Firestore;
  before(() => {
    db = firestore();
  });
  beforeEach(async () => clearFirestore());

  async function newJob(clock: { now: () => Date }) {
    return (
      await createJob({ db, now: clock.now }, { owner: OWNER, kind: "transfer", dataset: null, input: {} })
    ).id;
  }

  /** Every version of the job document a listener receives, until it ends. */
  function listen(id: string) {
    const seen: JobDoc[] = [];
    let stop = () => {};
    const ended = new Promise<void>((resolve) => {
      stop = db
        .collection(JOBS_COLLECTION)
        .doc(id)
        .onSnapshot((snap) => {
          const doc = snap.data() as JobDoc | undefined;
          if (!doc) return;
          seen.push(doc);
          if (["done", "failed", "cancelled"].includes(doc.state)) resolve();
        });
    });
    return { seen, ended, stop: () => stop() };
  }

  it("writes progress at most once a second of the job's clock, always the final state, never backwards", async () => {
    const clock = fakeClock();
    const id = await newJob(clock);
    const listener = listen(id);
    // 20 items a quarter of a second apart: 5 s of work. The reported `done` goes back once
    // (a retried item), which the job must not show.
    const work: JobWork = async (ctx) => {
      for (let i = 1; i <= 20; i++) {
        clock.advance(250);
        await ctx.progress(i === 9 ? 3 : i, 20, `item ${i}`);
      }
      return { items: 20 };
    };
    const outcome = await runJob({ db, now: clock.now, log: quiet }, { transfer: work }, id);
    await listener.ended;
    listener.stop();
    // Claim (running) + one progress write per second (t = 1, 2, 3, 4, 5 s) + the final state.
    assert.deepEqual(outcome, { state: "done", writes: 7 });
    const final = listener.seen[listener.seen.length - 1]!;
    assert.equal(final.state, "done");
    assert.deepEqual(final.result, { items: 20 });
    assert.deepEqual(final.progress, { fraction: 1, done: 20, total: 20, message: "done" });
    const fractions = listener.seen.map((d) => d.progress.fraction);
    assert.deepEqual(
      fractions,
      [...fractions].sort((a, b) => a - b),
      `progress went backwards: ${fractions.join(", ")}`,
    );
    const dones = listener.seen.map((d) => d.progress.done);
    assert.deepEqual(
      dones,
      [...dones].sort((a, b) => a - b),
    );
    // The versions a listener sees are at least a second apart until the final one.
    const times = listener.seen.filter((d) => d.state === "running").map((d) => d.updatedAt.toMillis());
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 1000, times.join(", "));
  });

  it("a fast job costs two writes after its creation: running and done, nothing in between", async () => {
    const clock = fakeClock();
    const id = await newJob(clock);
    const work: JobWork = async (ctx) => {
      for (let i = 1; i <= 100; i++) await ctx.progress(i, 100, `item ${i}`);
      return {};
    };
    assert.deepEqual(await runJob({ db, now: clock.now, log: quiet }, { transfer: work }, id), {
      state: "done",
      writes: 2,
    });
  });

  it("stops between items once its owner cancels, and ends cancelled with the progress so far", async () => {
    const clock = fakeClock();
    const id = await newJob(clock);
    let ran = 0;
    const work: JobWork = async (ctx) => {
      for (let i = 1; i <= 10; i++) {
        clock.advance(1000);
        await ctx.progress(i - 1, 10, `item ${i}`);
        ran = i;
        if (i === 3) await cancelJob({ db, now: clock.now }, { email: OWNER, admin: false }, id);
      }
      return {};
    };
    const outcome = await runJob({ db, now: clock.now, log: quiet }, { transfer: work }, id);
    assert.equal(outcome.state, "cancelled");
    assert.equal(ran, 3, "the item after the cancel does not run");
    const doc = (await db.collection(JOBS_COLLECTION).doc(id).get()).data() as JobDoc;
    assert.equal(doc.state, "cancelled");
    assert.equal(doc.cancelRequested, true);
    assert.equal(doc.error, null);
    assert.equal(doc.result, null);
    assert.deepEqual(doc.progress, { fraction: 0.3, done: 3, total: 10, message: "cancelled" });
    assert.ok(doc.finishedAt);
  });

  it("a job cancelled while queued never runs", async () => {
    const clock = fakeClock();
    const id = await newJob(clock);
    const cancelled = await cancelJob({ db, now: clock.now }, { email: OWNER, admin: false }, id);
    assert.equal(cancelled.state, "cancelled");
    let ran = false;
    const outcome = await runJob(
      { db, now: clock.now, log: quiet },
      {
        transfer: () => {
          ran = true;
          return Promise.resolve({});
        },
      },
      id,
    );
    assert.deepEqual(outcome, { state: undefined, writes: 0 });
    assert.equal(ran, false);
  });

  it("an unexpected error ends the job failed with a reason that leaks nothing", async () => {
    const clock = fakeClock();
    const id = await newJob(clock);
    const errors: string[] = [];
    const log: Logger = { ...quiet, error: (m, f) => errors.push(`${m} ${JSON.stringify(f)}`) };
    const work: JobWork = () => Promise.reject(new Error("ECONNREFUSED 10.0.0.7:5432 secret-host"));
    assert.equal((await runJob({ db, now: clock.now, log }, { transfer: work }, id)).state, "failed");
    const doc = (await db.collection(JOBS_COLLECTION).doc(id).get()).data() as JobDoc;
    assert.equal(doc.error, `Internal error while running job ${id}; the server log has the details`);
    assert.match(errors.join("\n"), /secret-host/, "the details are in the server log");
  });
});
