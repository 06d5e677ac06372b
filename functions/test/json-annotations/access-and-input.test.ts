/** Who may read, write, write as someone else and delete; bad input is refused and writes nothing. */
import assert from "node:assert/strict";
import { checkMatrix } from "../helpers/matrix.js";
import { PUBLIC_DS } from "../helpers/server.js";
import { BASE, dump, harness, seedRecords, send, type Harness } from "./util.js";

describe("json-annotations: permissions", () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.close());

  const seed = () => seedRecords([{ bodyid: 1, type: "A" }]);

  it("reads need can_read (public datasets count)", async () => {
    await checkMatrix(
      h.server,
      h.tokens,
      { method: "GET", path: `${BASE}/id-number/1` },
      {
        anonymous: 401,
        unknown: 403,
        reader: 200,
        writer: 200,
        datasetAdmin: 200,
        admin: 200,
        disabled: 403,
      },
      seed,
    );
    await checkMatrix(
      h.server,
      h.tokens,
      { method: "GET", path: `/v2/json-annotations/${PUBLIC_DS}/neurons/fields` },
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
  });

  it("writes (and designated_user) need clio_write: body annotations are shared", async () => {
    const expected = {
      anonymous: 401,
      unknown: 403,
      reader: 403,
      writer: 200,
      datasetAdmin: 200,
      admin: 200,
      disabled: 403,
    };
    await checkMatrix(
      h.server,
      h.tokens,
      { method: "POST", path: BASE, body: { bodyid: 1, type: "B" } },
      expected,
      seed,
    );
    await checkMatrix(
      h.server,
      h.tokens,
      {
        method: "POST",
        path: `${BASE}?designated_user=someone@example.org`,
        body: [{ bodyid: 2, type: "B" }],
      },
      expected,
    );
    await checkMatrix(
      h.server,
      h.tokens,
      { method: "POST", path: `/v2/json-annotations/${PUBLIC_DS}/neurons`, body: { bodyid: 2, type: "B" } },
      {
        anonymous: 401,
        unknown: 403,
        reader: 403,
        writer: 403,
        datasetAdmin: 403,
        admin: 200,
        disabled: 403,
      },
    );
  });

  it("deletes need dataset admin", async () => {
    await checkMatrix(
      h.server,
      h.tokens,
      { method: "DELETE", path: `${BASE}/id-number/1` },
      {
        anonymous: 401,
        unknown: 403,
        reader: 403,
        writer: 403,
        datasetAdmin: 200,
        admin: 200,
        disabled: 403,
      },
      seed,
    );
  });
});

describe("json-annotations: designated_user and delete", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(() => h.close());

  it("stamps designated_user as the author and keeps the caller as the writer", async () => {
    const res = await send(h.server.url, "POST", `${BASE}?designated_user=proofreader@example.org`, {
      token: h.tokens.writer,
      body: JSON.stringify({ bodyid: 9, type: "X" }),
    });
    assert.equal(res.status, 200);
    const read = await send(h.server.url, "GET", `${BASE}/id-number/9?show=user`, { token: h.tokens.reader });
    assert.deepEqual(read.body, [{ bodyid: 9, type: "X", type_user: "proofreader@example.org" }]);
    const head = (await dump())["clio_annotations_global/neurons/private-ds/id9"] as Record<string, unknown>;
    assert.equal(head._user, "writer@example.org");
  });

  it("a deleted record is gone from reads, its history stays, and deleting again is 404", async () => {
    const url = h.server.url;
    await send(url, "POST", BASE, { token: h.tokens.writer, body: JSON.stringify({ bodyid: 4, type: "A" }) });
    const del = await send(url, "DELETE", `${BASE}/id-number/4/`, { token: h.tokens.admin });
    assert.equal(del.status, 200);
    assert.equal(del.text, "null");
    assert.deepEqual((await send(url, "GET", `${BASE}/id-number/4`, { token: h.tokens.reader })).body, []);
    const history = (await send(url, "GET", `${BASE}/id-number/4?changes=true`, { token: h.tokens.reader }))
      .body as Record<string, unknown>[];
    assert.equal(history[0]!._deleted, true);
    assert.equal(history[1]!.type, "A");
    assert.equal((await send(url, "DELETE", `${BASE}/id-number/4`, { token: h.tokens.admin })).status, 404);
  });
});

describe("json-annotations: bad input changes nothing", () => {
  let h: Harness;
  let before: Record<string, unknown>;
  beforeEach(async () => {
    h = await harness();
    await send(h.server.url, "POST", BASE, {
      token: h.tokens.writer,
      body: JSON.stringify({ bodyid: 1, type: "A" }),
    });
    before = await dump();
  });
  afterEach(() => h.close());

  const refused = async (method: string, path: string, body: string | undefined, message: RegExp) => {
    const res = await send(h.server.url, method, `${BASE}${path}`, { token: h.tokens.admin, body });
    assert.equal(res.status, 400, `${method} ${path} ${body}: ${res.text}`);
    assert.match((res.body as { detail: string }).detail, message);
    assert.deepEqual(await dump(), before);
  };

  it("a record without bodyid, even in a list", async () => {
    await refused("POST", "", JSON.stringify({ type: "B" }), /no bodyid field/);
    await refused(
      "POST",
      "",
      JSON.stringify([{ bodyid: 1, type: "B" }, { type: "C" }]),
      /no bodyid field.*item 1/,
    );
  });

  it("a body id that is not an integer 1..2^64-1, in a body or a path", async () => {
    for (const id of ["1.5", "-3", "0", '"abc"', "18446744073709551616", "true"])
      await refused("POST", "", `{"bodyid":${id},"type":"B"}`, /bodyid must be an integer/);
    await refused("GET", "/id-number/12a", undefined, /not a body id/);
    await refused("GET", "/id-number/1,2.5", undefined, /not a body id/);
    await refused("DELETE", "/id-number/1e3", undefined, /not a body id/);
  });

  it("reserved or malformed field names, and bodies that are not JSON", async () => {
    await refused("POST", "", JSON.stringify({ bodyid: 1, _head: false }), /"_head" is not allowed/);
    await refused("POST", "", JSON.stringify({ bodyid: 1, "a.b": 1 }), /"a\.b" is not allowed/);
    await refused("POST", "", "{bodyid: 1", /not valid JSON/);
    await refused("POST", "", "[]", /empty/);
    await refused("POST", "", "7", /JSON object/);
  });

  it("malformed queries", async () => {
    await refused("POST", "/query", "{type:", /not valid JSON/);
    await refused("POST", "/query", undefined, /Send a query/);
    await refused("POST", "/query", "[1, 2]", /Query item 0 must be a JSON object/);
    await refused("POST", "/query", JSON.stringify({ type: { a: 1 } }), /query value of type/);
    await refused("POST", "/query", JSON.stringify({ type: "re/(" }), /regex for type is invalid/);
    await refused("POST", "/query", JSON.stringify({ bodyid: ["x"] }), /bodyid in query item 0/);
    await refused(
      "POST",
      "/query?show=bogus",
      JSON.stringify({ type: "A" }),
      /show is none, user, time or all/,
    );
  });

  it("a list write is all or nothing: a record too large for Firestore at the end of 1,000 writes none", async () => {
    const list: Record<string, unknown>[] = Array.from({ length: 1000 }, (_, i) => ({
      bodyid: i + 2,
      type: "T",
    }));
    list[999] = { bodyid: 5000, notes: "x".repeat(1_100_000) };
    const res = await send(h.server.url, "POST", BASE, {
      token: h.tokens.writer,
      body: JSON.stringify(list),
    });
    assert.equal(res.status, 413);
    assert.deepEqual(await dump(), before);
  });
});
