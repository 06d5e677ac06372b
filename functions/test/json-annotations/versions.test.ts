/** Versions: tag endpoints, reads of an older tag after later writes, history, writes only to HEAD. */
import assert from "node:assert/strict";
import { firestore } from "../../src/store/firebase.js";
import { PRIVATE_DS } from "../helpers/server.js";
import { BASE, dump, harness, send, type Harness } from "./util.js";

describe("json-annotations: versions and history", () => {
  let h: Harness;
  let url: string;
  beforeEach(async () => {
    h = await harness();
    url = h.server.url;
  });
  afterEach(() => h.close());

  const post = (body: unknown, query = "", token = h.tokens.writer) =>
    send(url, "POST", `${BASE}${query}`, { token, body: JSON.stringify(body) });
  const get = (path: string) => send(url, "GET", `${BASE}${path}`, { token: h.tokens.reader });
  /** Moves the dataset's tag the way an admin does: POST /v2/datasets. */
  const moveTag = async (tag: string, uuid: string) => {
    const res = await send(url, "POST", "/v2/datasets", {
      token: h.tokens.admin,
      body: JSON.stringify({ [PRIVATE_DS]: { description: "a private dataset", tag, uuid } }),
    });
    assert.equal(res.status, 200, res.text);
  };

  it("answers head_tag, head_uuid, versions, tag_to_uuid and uuid_to_tag as JSON", async () => {
    await moveTag("v1.3", "def456");
    assert.deepEqual((await get("/head_tag")).body, "v1.3");
    assert.deepEqual((await get("/head_uuid")).body, "def456");
    assert.deepEqual((await get("/versions")).body, { "v1.2": "abc123", "v1.3": "def456" });
    assert.deepEqual((await get("/tag_to_uuid/v1.2")).body, "abc123");
    assert.deepEqual((await get("/uuid_to_tag/abc")).body, "v1.2");
    assert.deepEqual((await get("/uuid_to_tag/def456789")).body, "v1.3");
    assert.equal((await get("/tag_to_uuid/v9")).status, 404);
    assert.equal((await get("/uuid_to_tag/zzz")).status, 404);
  });

  it("reads an older tag as the records were when the dataset moved past it, and HEAD by the current tag", async () => {
    await post([
      { bodyid: 1, type: "A", status: "Anchor" },
      { bodyid: 2, type: "B" },
    ]);
    await moveTag("v1.3", "def456");
    await post({ bodyid: 1, type: "A2" });
    await post({ bodyid: 3, type: "C" });
    await send(url, "DELETE", `${BASE}/id-number/2`, { token: h.tokens.admin });

    const old = await get("/id-number/1,2,3?version=v1.2");
    assert.deepEqual(old.body, [
      { bodyid: 1, type: "A", status: "Anchor" },
      { bodyid: 2, type: "B" },
    ]);
    assert.deepEqual((await get("/id-number/1,2,3?version=abc123")).body, old.body);
    assert.deepEqual((await get("/id-number/1,2,3?version=v1.3")).body, [
      { bodyid: 1, type: "A2", status: "Anchor" },
      { bodyid: 3, type: "C" },
    ]);
    const q = await send(url, "POST", `${BASE}/query?version=v1.2`, {
      token: h.tokens.reader,
      body: JSON.stringify({ type: "re/^[A-Z]$" }),
    });
    assert.deepEqual(q.body, [
      { bodyid: 1, type: "A", status: "Anchor" },
      { bodyid: 2, type: "B" },
    ]);
    assert.deepEqual((await get("/all?version=v1.2")).body, old.body);
    assert.equal((await get("/id-number/1?version=v0.1")).status, 400);
  });

  it("reads tags known only from clio's metadata document by _version, as clio did", async () => {
    const db = firestore();
    await db
      .collection("clio_annotations_global")
      .doc("metadata")
      .set({
        neurons: { [PRIVATE_DS]: { tag_to_uuid: { "v1.0": "0aa", "v1.2": "abc123" }, head_tag: "v1.2" } },
      });
    await post({ bodyid: 1, type: "at-v1.2" });
    assert.deepEqual((await get("/id-number/1?version=v1.0")).body, []);
    assert.deepEqual((await get("/versions")).body, { "v1.0": "0aa", "v1.2": "abc123" });
  });

  it("changes=true returns a record's history, newest first, with who and when", async () => {
    await post({ bodyid: 5, type: "A" });
    await post({ bodyid: 5, type: "B" }, "", h.tokens.admin);
    const res = await get("/id-number/5?changes=true");
    const history = res.body as Record<string, unknown>[];
    assert.equal(history.length, 2);
    assert.equal(history[0]!.type, "B");
    assert.equal(history[0]!._user, "admin@example.org");
    assert.equal(history[1]!.type, "A");
    assert.equal(history[1]!._user, "writer@example.org");
    assert.ok(String(history[0]!._time) >= String(history[1]!._time));
  });

  it("refuses writes to an older version and changes nothing", async () => {
    await post({ bodyid: 1, type: "A" });
    await moveTag("v1.3", "def456");
    const before = await dump();
    const res = await post({ bodyid: 1, type: "X" }, "?version=v1.2");
    assert.equal(res.status, 400);
    assert.match(String((res.body as { detail: string }).detail), /HEAD version v1\.3/);
    assert.deepEqual(await dump(), before);
    assert.equal((await post({ bodyid: 1, type: "Y" }, "?version=v1.3")).status, 200);
  });
});
