import assert from "node:assert/strict";
import { startUpstreamServer, type UpstreamServer } from "../../loopback/upstream.js";
import type { CatalogSearchResponse, IndexPointer } from "../../src/schemas/catalog-search.js";
import { scheduledAction } from "../../src/services/harvest/control.js";
import type { RunRecord } from "../../src/schemas/catalog.js";
import { startRun } from "../../src/services/harvest.js";
import { scheduledHarvest } from "../../src/triggers/harvest.js";
import { firestore } from "../../src/store/firebase.js";
import { checkMatrix } from "../helpers/matrix.js";
import { call, personaTokens, seedPersonas, serve, type Persona } from "../helpers/server.js";
import { catalogAdminApi, catalogApi } from "../../src/api/catalog.js";
import { clearFirestore } from "../setup/hooks.js";
import { startWorld, type CatalogWorld } from "./fixture.js";

const ADMIN_ONLY = {
  anonymous: 401,
  unknown: 403,
  reader: 403,
  writer: 403,
  datasetAdmin: 403,
  admin: 200,
  disabled: 403,
};

describe("catalog harvest control", () => {
  let world: CatalogWorld;
  let upstream: UpstreamServer;
  let tokens: Record<Persona, string | undefined>;

  before(async () => {
    tokens = await personaTokens();
    upstream = await startUpstreamServer();
    world = await startWorld({ modeldbBaseUrl: upstream.url, harvestRequestBudgetSeconds: 60 });
  });
  after(async () => {
    await world.close();
    await upstream.close();
  });
  beforeEach(async () => {
    await clearFirestore();
    await seedPersonas();
  });

  it("an admin runs a harvest within the request; a finished run rebuilds the search index", async () => {
    const res = await call<{ run: RunRecord; index: IndexPointer | null }>(
      world.api.url,
      "POST",
      "/v2/catalog/harvest/modeldb",
      { token: tokens.admin, body: { limit: 3 } },
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { run, index } = res.body;
    assert.equal(run.source, "modeldb");
    assert.equal(run.status, "partial", "a limited run never counts as complete");
    assert.equal(run.limit, 3);
    assert.equal(run.counts.created, 3);
    assert.equal(index?.records, 3);
    assert.match(index.trigger, /^admin:admin@example\.org run:modeldb-/);

    const found = await call<CatalogSearchResponse>(
      world.api.url,
      "GET",
      "/v2/catalog/search?source=modeldb",
      {
        token: tokens.reader,
      },
    );
    assert.equal(found.body.total, 3);

    const watched = await call<RunRecord>(world.api.url, "GET", `/v2/catalog/runs/${run.id}`, {
      token: tokens.admin,
    });
    assert.equal(watched.status, 200);
    assert.equal(watched.body.status, "partial");
    assert.equal(watched.body.progress.phase, "done");
    const listed = await call<RunRecord[]>(world.api.url, "GET", "/v2/catalog/runs?source=modeldb", {
      token: tokens.admin,
    });
    assert.deepEqual(
      listed.body.map((r) => r.id),
      [run.id],
    );
    const other = await call<RunRecord[]>(world.api.url, "GET", "/v2/catalog/runs?source=dandi", {
      token: tokens.admin,
    });
    assert.deepEqual(other.body, []);
  });

  it("a queued run (202) is worked on by the next request, with the limit it was created with", async () => {
    const paused = await call<{ run: RunRecord }>(world.api.url, "POST", "/v2/catalog/harvest/modeldb", {
      token: tokens.admin,
      body: { wait: false, limit: 2 },
    });
    assert.equal(paused.status, 202);
    assert.equal(paused.body.run.status, "paused");
    assert.equal(paused.body.run.invocations, 0);
    // The resume asks for no limit: the queued run keeps the one it was created with.
    const resumed = await call<{ run: RunRecord }>(world.api.url, "POST", "/v2/catalog/harvest/modeldb", {
      token: tokens.admin,
    });
    assert.equal(resumed.status, 200);
    assert.equal(resumed.body.run.id, paused.body.run.id);
    assert.equal(resumed.body.run.counts.created, 2);
    assert.equal(resumed.body.run.invocations, 1);
  });

  it("a run that spends the request's budget pauses; the next request continues the same run", async () => {
    const quick = await serve([catalogApi, catalogAdminApi], {
      ...world.overrides,
      harvestRequestBudgetSeconds: 1,
    });
    try {
      const first = await call<{ run: RunRecord; index: IndexPointer | null }>(
        quick.url,
        "POST",
        "/v2/catalog/harvest/modeldb",
        { token: tokens.admin },
      );
      assert.equal(first.status, 200);
      assert.equal(first.body.run.status, "paused");
      assert.equal(first.body.index, null, "no rebuild before the run finishes");
      const second = await call<{ run: RunRecord }>(quick.url, "POST", "/v2/catalog/harvest/modeldb", {
        token: tokens.admin,
      });
      assert.equal(second.body.run.id, first.body.run.id);
      assert.ok(second.body.run.progress.step > first.body.run.progress.step);
    } finally {
      await quick.close();
    }
  });

  it("409s while another worker holds the run", async () => {
    const run = await startRun({ db: firestore() }, "modeldb");
    await firestore()
      .collection("catalog_state")
      .doc("modeldb")
      .set({ leaseOwner: "someone-else", leaseExpiresAt: Date.now() + 60_000 }, { merge: true });
    const res = await call(world.api.url, "POST", "/v2/catalog/harvest/modeldb", { token: tokens.admin });
    assert.equal(res.status, 409);
    assert.match((res.body as { detail: string }).detail, new RegExp(run.id));
  });

  describe("permissions", () => {
    it("starting a harvest: admins only (202 when queued)", async () => {
      await checkMatrix(
        world.api,
        tokens,
        { method: "POST", path: "/v2/catalog/harvest/dandi", body: { wait: false } },
        { ...ADMIN_ONLY, admin: 202 },
      );
    });

    it("listing runs: admins only", async () => {
      await checkMatrix(world.api, tokens, { method: "GET", path: "/v2/catalog/runs" }, ADMIN_ONLY);
    });

    it("watching a run: admins only", async () => {
      let id = "";
      await checkMatrix(
        world.api,
        tokens,
        () => ({ method: "GET", path: `/v2/catalog/runs/${id}` }),
        ADMIN_ONLY,
        async () => {
          id = (await startRun({ db: firestore() }, "dandi")).id;
        },
      );
    });

    it("rebuilding the index: admins only", async () => {
      await checkMatrix(world.api, tokens, { method: "POST", path: "/v2/catalog/index" }, ADMIN_ONLY);
    });
  });

  describe("bad input", () => {
    for (const [method, path, body, status, what] of [
      ["POST", "/v2/catalog/harvest/allen", undefined, 400, "an unknown source"],
      ["POST", "/v2/catalog/harvest/modeldb", { limit: 0 }, 400, "a zero limit"],
      ["POST", "/v2/catalog/harvest/modeldb", { limit: "5" }, 400, "a string limit"],
      ["POST", "/v2/catalog/harvest/modeldb", { mode: "sometimes" }, 400, "an unknown mode"],
      ["POST", "/v2/catalog/harvest/modeldb", { colour: "red" }, 400, "an unknown field"],
      ["GET", "/v2/catalog/runs?source=allen", undefined, 400, "an unknown source filter"],
      ["GET", "/v2/catalog/runs?limit=0", undefined, 400, "a zero run limit"],
      ["GET", "/v2/catalog/runs/a%2Fb", undefined, 400, "a run id with a slash"],
      ["GET", "/v2/catalog/runs/modeldb-none", undefined, 404, "an unknown run"],
    ] as const) {
      it(`${status}s ${what}`, async () => {
        const res = await call(world.api.url, method, path, { token: tokens.admin, body });
        assert.equal(res.status, status, JSON.stringify(res.body));
      });
    }
  });

  describe("scheduled wake-ups", () => {
    const deps = (now: Date) => ({ ...world.api.deps, now: () => now });

    it("start a run when none ran, continue an active one, idle until the interval passes", async () => {
      const t0 = new Date();
      assert.equal(await scheduledAction(deps(t0), "modeldb"), "start");
      await startRun({ db: firestore(), now: () => t0 }, "modeldb", { limit: 2 });
      assert.equal(await scheduledAction(deps(t0), "modeldb"), "continue");

      await scheduledHarvest(deps(t0), "modeldb");
      assert.equal(await scheduledAction(deps(t0), "modeldb"), "idle");
      const later = new Date(t0.getTime() + 25 * 3600_000);
      assert.equal(await scheduledAction(deps(later), "modeldb"), "start", "24 h is ModelDB's default");
      const pointer = (
        await firestore().collection("catalog_index").doc("current").get()
      ).data() as IndexPointer;
      assert.equal(pointer.records, 2);
      assert.match(pointer.trigger, /^schedule:modeldb run:/);
    });

    it("a busy run is skipped, not failed", async () => {
      await startRun({ db: firestore() }, "modeldb");
      await firestore()
        .collection("catalog_state")
        .doc("modeldb")
        .set({ leaseOwner: "someone-else", leaseExpiresAt: Date.now() + 60_000 }, { merge: true });
      await scheduledHarvest(deps(new Date()), "modeldb");
      assert.ok(world.api.logs.some((l) => l.message === "harvest: run busy, skipping this wake-up"));
    });
  });
});
