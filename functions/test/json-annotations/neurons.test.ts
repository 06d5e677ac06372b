/** Records, stamps, projections and queries of /v2/json-annotations/{ds}/neurons. */
import assert from "node:assert/strict";
import { BASE, dump, harness, seedRecords, send, type Harness } from "./util.js";

const json = (v: unknown) => JSON.stringify(v);

describe("json-annotations: records and queries", () => {
  let h: Harness;
  let url: string;
  let writer: string;
  beforeEach(async () => {
    h = await harness();
    url = h.server.url;
    writer = h.tokens.writer!;
  });
  afterEach(() => h.close());

  const post = (body: unknown, query = "", token = writer) =>
    send(url, "POST", `${BASE}${query}`, { token, body: typeof body === "string" ? body : json(body) });
  const get = (path: string, token = writer) => send(url, "GET", `${BASE}${path}`, { token });
  const query = (body: unknown, q = "") =>
    send(url, "POST", `${BASE}/query${q}`, {
      token: writer,
      body: typeof body === "string" ? body : json(body),
    });

  it("writes answer 200 null and reads return the record without stamps by default", async () => {
    const res = await post({ bodyid: 10, type: "LC4", status: "Anchor" });
    assert.equal(res.status, 200);
    assert.equal(res.text, "null");
    const read = await get("/id-number/10");
    assert.deepEqual(read.body, [{ bodyid: 10, type: "LC4", status: "Anchor" }]);
    const shown = (await get("/id-number/10?show=all")).body as Record<string, unknown>[];
    assert.equal(shown[0]!.type_user, "writer@example.org");
    assert.match(String(shown[0]!.type_time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it("stamps only the fields whose value changed", async () => {
    await post({ bodyid: 7, type: "A", status: "Anchor" });
    const before = ((await get("/id-number/7?show=all")).body as Record<string, unknown>[])[0]!;
    // The website posts the whole merged record back with one value changed.
    await post({ bodyid: 7, type: "A", status: "Roughly traced" }, "", h.tokens.admin);
    const after = ((await get("/id-number/7?show=all")).body as Record<string, unknown>[])[0]!;
    assert.equal(after.type_user, before.type_user);
    assert.equal(after.type_time, before.type_time);
    assert.equal(after.status_user, "admin@example.org");
    assert.equal(after.status, "Roughly traced");
  });

  it("merges by default, replaces with replace=true (ignoring conditional), keeps conditional fields", async () => {
    await post({ bodyid: 5, type: "A", notes: "keep", status: "" });
    await post({ bodyid: 5, class: "VPN" });
    assert.deepEqual((await get("/id-number/5")).body, [
      { bodyid: 5, type: "A", notes: "keep", status: "", class: "VPN" },
    ]);
    await post({ bodyid: 5, type: "B", status: "Anchor", notes: null }, "?conditional=type,status,notes");
    // type had a value: kept; status was empty: written; notes: kept.
    assert.deepEqual((await get("/id-number/5")).body, [
      { bodyid: 5, type: "A", notes: "keep", status: "Anchor", class: "VPN" },
    ]);
    const replaced = await post({ bodyid: 5, type: "C" }, "?replace=True&conditional=type");
    assert.equal(replaced.status, 200);
    assert.deepEqual((await get("/id-number/5")).body, [{ bodyid: 5, type: "C" }]);
  });

  it("stores null to clear a field, and exists/0 treats null as absent", async () => {
    await post([
      { bodyid: 1, type: "A" },
      { bodyid: 2, type: "B" },
    ]);
    await post({ bodyid: 2, type: null });
    assert.deepEqual((await get("/id-number/2")).body, [{ bodyid: 2, type: null }]);
    assert.deepEqual((await query({ type: "exists/0" }, "?onlyid=true")).body, [2]);
    assert.deepEqual((await query({ type: "exists/1" }, "?onlyid=true")).body, [1]);
  });

  it("answers id-number in request order, without missing ids, each once", async () => {
    await post([
      { bodyid: 3, a: 1 },
      { bodyid: 1, a: 2 },
      { bodyid: 2, a: 3 },
    ]);
    const res = await get("/id-number/2,99,3,1,2");
    assert.deepEqual(
      (res.body as { bodyid: number }[]).map((r) => r.bodyid),
      [2, 3, 1],
    );
  });

  it("projects fields= and show=", async () => {
    await post({ bodyid: 4, type: "A", status: "Anchor", notes: "n" });
    assert.deepEqual((await get("/id-number/4?fields=type,status")).body, [
      { bodyid: 4, type: "A", status: "Anchor" },
    ]);
    const user = ((await get("/id-number/4?fields=type&show=user")).body as Record<string, unknown>[])[0]!;
    assert.deepEqual(Object.keys(user).sort(), ["bodyid", "type", "type_user"]);
    const time = ((await get("/id-number/4?fields=type&show=time")).body as Record<string, unknown>[])[0]!;
    assert.deepEqual(Object.keys(time).sort(), ["bodyid", "type", "type_time"]);
  });

  it("queries: AND within an object, OR across a list, IN, array membership, regex, sorted by body id", async () => {
    await post([
      { bodyid: 30, type: "LC4", status: "Anchor", tags: ["a", "b"] },
      { bodyid: 10, type: "LC10", status: "Roughly traced", tags: ["b"] },
      { bodyid: 20, type: "MBON01", status: "Anchor" },
      { bodyid: 40, type: "lc4", status: "Traced", soma: 3 },
    ]);
    const ids = async (body: unknown) =>
      ((await query(body)).body as { bodyid: number }[]).map((r) => r.bodyid);
    assert.deepEqual(await ids({ status: ["Anchor", "Roughly traced"] }), [10, 20, 30]);
    assert.deepEqual(await ids({ type: "re/^L.*" }), [10, 30]);
    assert.deepEqual(await ids({ type: "re/C4" }), [30]);
    assert.deepEqual(await ids({ type: "re/^L.*", status: "Anchor" }), [30]);
    assert.deepEqual(await ids([{ type: "MBON01" }, { status: "Traced" }, { type: "MBON01" }]), [20, 40]);
    assert.deepEqual(await ids({ tags: "b" }), [10, 30]);
    assert.deepEqual(await ids({ tags: ["a", "x"] }), [30]);
    assert.deepEqual(await ids({ soma: "exists/1" }), [40]);
    assert.deepEqual(await ids({ bodyid: [40, 10, 99] }), [10, 40]);
    assert.deepEqual(await ids({ bodyid: 20, status: "Anchor" }), [20]);
    assert.deepEqual(await ids({ soma: 3 }), [40]);
    assert.deepEqual((await query({ status: "Anchor" }, "?onlyid=true")).body, [20, 30]);
  });

  it("lists fields with stamp names, and /all streams every record with something besides bodyid", async () => {
    await post([
      { bodyid: 2, type: "A" },
      { bodyid: 1, status: "Anchor" },
    ]);
    await seedRecords([{ bodyid: 3 }]);
    const fields = (await get("/fields")).body as string[];
    for (const f of ["bodyid", "type", "type_user", "type_time", "status", "status_user", "status_time"])
      assert.ok(fields.includes(f), f);
    const all = await get("/all?show=all");
    assert.equal(all.status, 200);
    assert.deepEqual(
      (all.body as { bodyid: number }[]).map((r) => r.bodyid),
      [1, 2],
    );
  });

  it("serves an existing clio database in the 2021–22 layout as it is", async () => {
    await seedRecords([
      { bodyid: 100, type: "old", type_user: "someone@example.org" },
      { bodyid: 101, status: "Anchor" },
    ]);
    assert.deepEqual((await get("/id-number/100,101?show=user")).body, [
      { bodyid: 100, type: "old", type_user: "someone@example.org" },
      { bodyid: 101, status: "Anchor" },
    ]);
    await post({ bodyid: 100, status: "Traced" });
    const stored = await dump();
    const head = stored["clio_annotations_global/neurons/private-ds/id100"] as Record<string, unknown>;
    assert.equal(head._head, true);
    assert.equal((head._archived_keys as string[]).length, 1);
    const archive = stored[
      `clio_annotations_global/neurons/private-ds/${(head._archived_keys as string[])[0]}`
    ] as Record<string, unknown>;
    assert.equal(archive._head, false);
    assert.equal(archive.type, "old");
    assert.equal(archive.status, undefined);
  });

  it("keeps body ids above 2^53 exact in bodies, paths, queries and responses", async () => {
    const big = "18446744073709551615";
    const near = "9007199254740993"; // 2^53 + 1: JSON.parse would read ...992
    await post(`[{"bodyid":${big},"type":"big"},{"bodyid":${near},"type":"near"}]`);
    const byId = await get(`/id-number/${near},${big}`);
    assert.equal(byId.text, `[{"bodyid":${near},"type":"near"},{"bodyid":${big},"type":"big"}]`);
    const q = await query(`{"bodyid":[${big}]}`);
    assert.equal(q.text, `[{"bodyid":${big},"type":"big"}]`);
    const only = await query(`{"type":"re/."}`, "?onlyid=true");
    assert.equal(only.text, `[${near},${big}]`);
    assert.equal((await get(`/id-number/9007199254740992`)).text, "[]");
    assert.equal((await query(`{"bodyid":["${near}"]}`)).text, `[{"bodyid":${near},"type":"near"}]`);
    // Other integers above 2^53 are stored as numbers (Firestore's SDK reads them back as such).
    await post(`{"bodyid":5,"count":${big}}`);
    assert.equal((await get("/id-number/5")).text, '[{"bodyid":5,"count":18446744073709552000}]');
    const stored = await dump();
    assert.ok(`clio_annotations_global/neurons/private-ds/id${near}` in stored);
    assert.ok(`clio_annotations_global/neurons/private-ds/id${big}` in stored);
  });
});
