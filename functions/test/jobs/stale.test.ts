/**
 * A job whose runner died (its instance crashed or hit the trigger's timeout) would stay queued or
 * running forever; reading, listing or cancelling it past the runner's timeout ends it instead.
 * The store runs on an injected clock.
 */
import assert from "node:assert/strict";
import type { Firestore } from "firebase-admin/firestore";
import {
  cancelJob,
  createJob,
  getJob,
  listJobs,
  RUNNER_TIMEOUT_SECONDS,
  STALE_AFTER_MS,
  STALE_REASON,
} from "../../src/services/jobs/store.js";
import { runJob } from "../../src/services/jobs/runner.js";
import { firestore } from "../../src/store/firebase.js";
import { clearFirestore } from "../setup/hooks.js";
import { allJobs, fakeClock, quiet } from "./fixture.js";

const OWNER = "reader@example.org";
const viewer = { email: OWNER, admin: false };

describe("jobs whose runner stopped", () => {
  let db: Firestore;
  before(() => {
    db = firestore();
  });
  beforeEach(async () => clearFirestore());

  /** A job claimed by a runner whose instance then died: its work never settles. */
  async function orphanRunning(clock: ReturnType<typeof fakeClock>) {
    const deps = { db, now: clock.now };
    const { id } = await createJob(deps, { owner: OWNER, kind: "transfer", dataset: null, input: {} });
    void runJob({ ...deps, log: quiet }, { transfer: () => new Promise(() => {}) }, id);
    while ((await allJobs()).get(id)?.state !== "running") await new Promise((r) => setTimeout(r, 10));
    return { id, deps };
  }

  it("stays running within the runner's timeout, then reads as failed with the reason, stored once", async () => {
    const clock = fakeClock();
    const { id, deps } = await orphanRunning(clock);
    clock.advance(RUNNER_TIMEOUT_SECONDS * 1000);
    assert.equal((await getJob(deps, viewer, id)).state, "running", "a long step is not a dead runner");
    clock.advance(STALE_AFTER_MS - RUNNER_TIMEOUT_SECONDS * 1000 + 1);
    const failed = await getJob(deps, viewer, id);
    assert.equal(failed.state, "failed");
    assert.equal(failed.error, STALE_REASON);
    assert.equal(failed.finishedAt, clock.now().toISOString());
    const stored = (await allJobs()).get(id)!;
    assert.equal(stored.state, "failed");
    assert.equal(stored.error, STALE_REASON);

    clock.advance(60_000);
    const later = await getJob(deps, viewer, id);
    assert.equal(later.finishedAt, failed.finishedAt, "an ended job is not ended again");
  });

  it("a listing ends the stale jobs on its page and leaves fresh and finished ones alone", async () => {
    const clock = fakeClock();
    const deps = { db, now: clock.now };
    const old = await createJob(deps, { owner: OWNER, kind: "harvest", dataset: null, input: {} });
    const done = await createJob(deps, { owner: OWNER, kind: "transfer", dataset: null, input: {} });
    await runJob({ ...deps, log: quiet }, { transfer: () => Promise.resolve({ ok: true }) }, done.id);
    clock.advance(STALE_AFTER_MS + 1);
    const fresh = await createJob(deps, { owner: OWNER, kind: "transfer", dataset: null, input: {} });

    const { jobs } = await listJobs(deps, OWNER, {});
    const byId = new Map(jobs.map((j) => [j.id, j]));
    assert.equal(byId.get(old.id)!.state, "failed", "a job queued past the timeout never got a runner");
    assert.equal(byId.get(old.id)!.error, STALE_REASON);
    assert.equal(byId.get(done.id)!.state, "done");
    assert.equal(byId.get(fresh.id)!.state, "queued");
    const stored = await allJobs();
    assert.equal(stored.get(old.id)!.state, "failed");
    assert.equal(stored.get(done.id)!.state, "done");
    assert.equal(stored.get(fresh.id)!.state, "queued");
  });

  it("cancelling a stale running job ends it cancelled at once: no runner is left to stop it", async () => {
    const clock = fakeClock();
    const { id, deps } = await orphanRunning(clock);
    clock.advance(STALE_AFTER_MS + 1);
    const cancelled = await cancelJob(deps, viewer, id);
    assert.equal(cancelled.state, "cancelled");
    assert.equal((await allJobs()).get(id)!.state, "cancelled");
  });
});
