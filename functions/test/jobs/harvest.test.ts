/**
 * A harvest job reports its run's progress between the harvest's steps (records seen of the
 * source's total), throttled like every job, and a cancel pauses the run so a later harvest
 * resumes it. The upstream is the loopback of recorded ModelDB answers (14 models, 10 a step).
 */
import assert from "node:assert/strict";
import { startUpstreamServer, type UpstreamServer } from "../../loopback/upstream.js";
import { getRun, getSourceState } from "../../src/services/harvest.js";
import { JOBS_COLLECTION, type JobDoc } from "../../src/schemas/jobs.js";
import { runHarvestJob } from "../../src/services/jobs/catalog-jobs.js";
import { runJob, type RunOutcome } from "../../src/services/jobs/runner.js";
import { cancelJob, createJob } from "../../src/services/jobs/store.js";
import { firestore } from "../../src/store/firebase.js";
import { FAST_POLICY } from "../harvest/helpers.js";
import { PERSONAS } from "../helpers/server.js";
import { startJobsWorld, type JobsWorld } from "./fixture.js";

describe("harvest jobs report the run's steps", () => {
  let world: JobsWorld;
  let upstream: UpstreamServer;
  before(async () => {
    upstream = await startUpstreamServer();
    world = await startJobsWorld({ modeldbBaseUrl: upstream.url });
  });
  after(async () => {
    await world.close();
    await upstream.close();
  });
  beforeEach(async () => world.reset());

  /** Every version of the job a listener receives while `run` runs it. */
  async function watch(id: string, run: () => Promise<RunOutcome>) {
    const seen: JobDoc[] = [];
    const stop = firestore()
      .collection(JOBS_COLLECTION)
      .doc(id)
      .onSnapshot((snap) => {
        if (snap.exists) seen.push(snap.data() as JobDoc);
      });
    const outcome = await run();
    // The final state is the last write; wait until the listener has it.
    while (seen.at(-1)?.state !== outcome.state) await new Promise((r) => setTimeout(r, 10));
    stop();
    return { outcome, seen };
  }

  async function harvestJob(stepMs: number, onStep?: (id: string) => Promise<void>) {
    const deps = world.api.deps;
    const job = await createJob(deps, {
      owner: PERSONAS.admin,
      kind: "harvest",
      dataset: null,
      input: { source: "modeldb" },
    });
    // The job's clock moves `stepMs` at every reading: 1 s makes every step a progress write.
    let ms = Date.now();
    const clock = () => new Date((ms += stepMs));
    const root = { ...deps, now: clock };
    const result = await watch(job.id, () =>
      runJob(
        { ...root },
        {
          harvest: (ctx) => {
            let steps = 0;
            const progress: typeof ctx.progress = async (done, total, message) => {
              if (steps++ === 1 && onStep) await onStep(job.id);
              return ctx.progress(done, total, message);
            };
            return runHarvestJob(root, { ...ctx, progress }, FAST_POLICY);
          },
        },
        job.id,
      ),
    );
    return { id: job.id, ...result };
  }

  it("each step's records seen of the total, growing, then done with the run's counts", async () => {
    const { outcome, seen } = await harvestJob(1000);
    assert.equal(outcome.state, "done");
    const running = seen.filter((d) => d.state === "running").map((d) => d.progress);
    const counts = running.map((p) => p.done);
    assert.deepEqual(
      counts,
      [...counts].sort((a, b) => a - b),
      "never backwards",
    );
    assert.ok(
      running.some((p) => p.done === 10 && p.total === 14),
      JSON.stringify(running),
    );
    assert.ok(
      running.some((p) => p.done === 14 && p.total === 14),
      JSON.stringify(running),
    );
    const last = seen.at(-1)!;
    assert.deepEqual(last.progress, { fraction: 1, done: 14, total: 14, message: "done" });
    assert.equal((last.result as { counts: { created: number } }).counts.created, 14);
  });

  it("steps within the same second are not written", async () => {
    // The clock barely moves: only the claim and the end are written.
    const { outcome, seen } = await harvestJob(1);
    assert.equal(outcome.state, "done");
    assert.deepEqual(
      seen.map((d) => d.state),
      ["queued", "running", "done"],
    );
    assert.equal(outcome.writes, 2);
  });

  it("a cancel pauses the run before its next step; the next harvest resumes it", async () => {
    const { outcome, seen } = await harvestJob(1000, async (id) => {
      await cancelJob(world.api.deps, { email: PERSONAS.admin, admin: true }, id);
    });
    assert.equal(outcome.state, "cancelled");
    const db = world.api.deps.db;
    const paused = await getRun(db, (await getSourceState(db, "modeldb")).activeRunId!);
    assert.equal(paused?.status, "paused", "the run stays resumable, its lease released");
    assert.equal(seen.at(-1)!.state, "cancelled");
    assert.ok(seen.at(-1)!.progress.done < 14, JSON.stringify(seen.at(-1)!.progress));
    const again = await harvestJob(1000);
    assert.equal(again.outcome.state, "done");
    const result = again.seen.at(-1)!.result as { runId: string; status: string };
    assert.equal(result.runId, paused.id);
    assert.equal(result.status, "complete");
  });
});
