/** Concurrent writers of one record, and large list writes. */
import assert from "node:assert/strict";
import { BASE, dump, harness, send, type Harness } from "./util.js";

describe("json-annotations: concurrency and large writes", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(() => h.close());

  it("20 concurrent writers of one record each keep their field", async function () {
    this.timeout(120_000);
    const writes = Array.from({ length: 20 }, (_, i) =>
      send(h.server.url, "POST", BASE, {
        token: i % 2 === 0 ? h.tokens.writer : h.tokens.admin,
        body: JSON.stringify({ bodyid: 77, [`f${i}`]: i }),
      }),
    );
    const results = await Promise.all(writes);
    assert.deepEqual(
      results.map((r) => r.status),
      Array<number>(20).fill(200),
    );
    const head = (await dump())["clio_annotations_global/neurons/private-ds/id77"] as Record<string, unknown>;
    for (let i = 0; i < 20; i++) assert.equal(head[`f${i}`], i, `f${i}`);
    // Every write but the first archived the state before it.
    assert.equal((head._archived_keys as string[]).length, 19);
    const read = await send(h.server.url, "GET", `${BASE}/id-number/77`, { token: h.tokens.reader });
    assert.equal(Object.keys((read.body as object[])[0]!).length, 21);
  });

  it("writes a list of 1,000 records in one request", async function () {
    this.timeout(120_000);
    const list = Array.from({ length: 1000 }, (_, i) => ({
      bodyid: 10_000_000_000 + i,
      status: "Anchor",
      n: i,
    }));
    const res = await send(h.server.url, "POST", BASE, {
      token: h.tokens.writer,
      body: JSON.stringify(list),
    });
    assert.equal(res.status, 200, res.text);
    const ids = await send(h.server.url, "POST", `${BASE}/query?onlyid=true`, {
      token: h.tokens.reader,
      body: JSON.stringify({ status: "Anchor" }),
    });
    assert.equal((ids.body as unknown[]).length, 1000);
    assert.equal(Object.keys(await dump()).length, 1000);
  });
});
