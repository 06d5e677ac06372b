import assert from "node:assert/strict";
import type { Manifest } from "../../src/services/catalog/download.js";
import { checkMatrix } from "../helpers/matrix.js";
import { personaTokens, seedPersonas, serve, type Persona, type TestServer } from "../helpers/server.js";
import { catalogAdminApi, catalogApi } from "../../src/api/catalog.js";
import { clearFirestore } from "../setup/hooks.js";
import {
  FILE_BODIES,
  readZip,
  startWorld,
  writeRecords,
  type CatalogWorld,
  type ZipEntry,
} from "./fixture.js";

interface Download {
  status: number;
  type: string | null;
  disposition: string | null;
  entries: ZipEntry[];
  manifest: Manifest;
  json: unknown;
}

async function download(api: TestServer, token: string | undefined, body: unknown): Promise<Download> {
  const res = await fetch(`${api.url}/v2/catalog/download`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const type = res.headers.get("content-type");
  if (type !== "application/zip") {
    return {
      status: res.status,
      type,
      disposition: null,
      entries: [],
      manifest: undefined as never,
      json: JSON.parse(bytes.toString("utf8")) as unknown,
    };
  }
  const entries = readZip(bytes);
  const manifest = JSON.parse(
    entries.find((e) => e.name === "manifest.json")!.data.toString("utf8"),
  ) as Manifest;
  return {
    status: res.status,
    type,
    disposition: res.headers.get("content-disposition"),
    entries,
    manifest,
    json: null,
  };
}

describe("catalog download", () => {
  let world: CatalogWorld;
  let tokens: Record<Persona, string | undefined>;

  before(async () => {
    await clearFirestore();
    await seedPersonas();
    tokens = await personaTokens();
    world = await startWorld();
    await writeRecords(world.records);
    await world.publish();
  });
  after(async () => world.close());

  it("streams the files of the selected records and a manifest of everything", async () => {
    const res = await download(world.api, tokens.reader, {
      ids: ["neuromorpho:1", "modeldb:2488", "hippocampome:1000", "nowhere:1"],
    });
    assert.equal(res.status, 200);
    assert.equal(res.type, "application/zip");
    assert.match(res.disposition!, /attachment; filename="neurofire-catalog-\d+\.zip"/);
    const byName = Object.fromEntries(res.entries.map((e) => [e.name, e.data]));
    assert.deepEqual(Object.keys(byName).sort(), [
      "manifest.json",
      "modeldb_2488/2488.zip",
      "neuromorpho_1/n409.CNG.swc",
      "neuromorpho_1/n409.asc",
    ]);
    assert.deepEqual(byName["neuromorpho_1/n409.CNG.swc"], FILE_BODIES["/files/n409.CNG.swc"]);
    assert.deepEqual(byName["neuromorpho_1/n409.asc"], FILE_BODIES["/files/n409.asc"]);
    assert.deepEqual(byName["modeldb_2488/2488.zip"], FILE_BODIES["/files/2488.zip"]);

    const m = res.manifest;
    assert.deepEqual(
      m.records.map((r) => r.id),
      ["neuromorpho:1", "modeldb:2488", "hippocampome:1000"],
    );
    const n409 = m.records[0]!;
    assert.equal(n409.licence, "CC-BY-4.0");
    assert.equal(n409.citations[0]!.pmid, "7499554");
    assert.equal(n409.page, "https://neuromorpho.org/neuron_info.jsp?neuron_name=n409");
    assert.equal(m.records[2]!.files, 0, "a neuron type has no files and is still listed");
    assert.deepEqual(m.notFound, ["nowhere:1"]);
    assert.deepEqual(
      m.files.map((f) => [f.path, f.status, f.size, f.expectedSize]),
      [
        ["neuromorpho_1/n409.CNG.swc", "ok", 40, 40],
        ["neuromorpho_1/n409.asc", "ok", FILE_BODIES["/files/n409.asc"]!.length, null],
        ["modeldb_2488/2488.zip", "ok", 64, 64],
      ],
    );
    assert.deepEqual(m.totals, {
      ok: 3,
      failed: 0,
      skipped: 0,
      truncated: 0,
      unreadable: 0,
      bytes: 40 + FILE_BODIES["/files/n409.asc"]!.length + 64,
    });
  });

  it("lists files it could not fetch, with the reason, instead of failing", async () => {
    const res = await download(world.api, tokens.reader, {
      ids: ["neuromorpho:2", "dandi:000003", "modeldb:3", "neuromorpho:4"],
    });
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.entries.map((e) => e.name),
      ["neuromorpho_4/sub_bursting_03.swc", "manifest.json"],
    );
    const files = Object.fromEntries(res.manifest.files.map((f) => [f.record, f]));
    assert.equal(files["neuromorpho:2"]!.status, "failed");
    assert.match(files["neuromorpho:2"]!.reason!, /404/);
    assert.equal(files["dandi:000003"]!.status, "failed", "connection refused");
    assert.ok(files["dandi:000003"]!.reason);
    assert.equal(files["modeldb:3"]!.status, "failed");
    assert.match(files["modeldb:3"]!.reason!, /not one of the catalog's sources/);
    assert.equal(files["neuromorpho:4"]!.status, "ok");
    assert.equal(files["neuromorpho:2"]!.path, undefined);
    assert.deepEqual(res.manifest.totals.failed, 3);
    assert.ok(!world.files.requests.some((r) => r.includes("elsewhere")));
  });

  it("selects by query and filters like search (withdrawn left out)", async () => {
    const res = await download(world.api, tokens.reader, {
      q: "pyramidal",
      filters: { source: "neuromorpho" },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.manifest.records.map((r) => r.id).sort(), ["neuromorpho:1", "neuromorpho:4"]);
    const none = await download(world.api, tokens.reader, { q: "place", filters: {} });
    assert.deepEqual(none.manifest.records, []);
    assert.deepEqual(
      none.entries.map((e) => e.name),
      ["manifest.json"],
    );
  });

  describe("limits", () => {
    let small: TestServer;
    before(async () => {
      small = await serve([catalogApi, catalogAdminApi], {
        ...world.overrides,
        catalogDownloadMaxRecords: 2,
        catalogDownloadMaxBytes: 100,
      });
    });
    after(async () => small.close());

    it("409s more records than allowed, before streaming", async () => {
      const byIds = await download(small, tokens.reader, {
        ids: ["neuromorpho:1", "neuromorpho:2", "neuromorpho:3"],
      });
      assert.equal(byIds.status, 409);
      assert.equal(byIds.type, "application/json; charset=utf-8");
      assert.match((byIds.json as { detail: string }).detail, /3 records; one download may hold at most 2/);
      const byQuery = await download(small, tokens.reader, { q: "", filters: { kind: "morphology" } });
      assert.equal(byQuery.status, 409);
      assert.match((byQuery.json as { detail: string }).detail, /4 records/);
    });

    it("413s stated sizes above the byte limit, before streaming", async () => {
      // 40 + 64 stated bytes > 100.
      const res = await download(small, tokens.reader, { ids: ["neuromorpho:1", "modeldb:2488"] });
      assert.equal(res.status, 413);
      assert.equal((res.json as { code: string }).code, "payload_too_large");
      assert.match((res.json as { detail: string }).detail, /at least 104 bytes/);
    });

    it("stops adding files of unstated size at the byte limit and says so", async () => {
      const tight = await serve([catalogApi, catalogAdminApi], {
        ...world.overrides,
        catalogDownloadMaxBytes: 60,
      });
      try {
        const res = await download(tight, tokens.reader, { ids: ["neuromorpho:1", "neuromorpho:4"] });
        assert.equal(res.status, 200);
        const got = res.manifest.files.map((f) => [f.name, f.status, f.size]);
        assert.deepEqual(got, [
          ["n409.CNG.swc", "ok", 40],
          ["n409.asc", "truncated", 20],
          ["sub_bursting_03.swc", "skipped", 0],
        ]);
        assert.match(res.manifest.files[2]!.reason!, /60-byte limit/);
        assert.equal(res.entries.find((e) => e.name === "neuromorpho_1/n409.asc")!.data.length, 20);
        assert.equal(res.manifest.totals.bytes, 60);
      } finally {
        await tight.close();
      }
    });
  });

  describe("bad input", () => {
    for (const [body, what] of [
      [{}, "an empty body"],
      [{ ids: [] }, "no ids"],
      [{ ids: "neuromorpho:1,neuromorpho:2" }, "ids as a comma string"],
      [{ ids: ["neuromorpho:1"], q: "x" }, "ids with a query"],
      [{ q: "x", filters: { colour: "red" } }, "an unknown facet"],
      [{ q: 3 }, "a non-string query"],
    ] as const) {
      it(`400s ${what}`, async () => {
        const res = await download(world.api, tokens.reader, body);
        assert.equal(res.status, 400, JSON.stringify(res.json));
      });
    }
  });

  it("is allowed to any signed-in user", async () => {
    await checkMatrix(
      world.api,
      tokens,
      { method: "POST", path: "/v2/catalog/download", body: { ids: ["hippocampome:1000"] } },
      {
        anonymous: 401,
        unknown: 200,
        reader: 200,
        writer: 200,
        datasetAdmin: 200,
        admin: 200,
        disabled: 403,
      },
      () => writeRecords(world.records),
    );
  });
});
