/**
 * Security review M1: lists of ~1 MiB documents. Pages and streams are bounded in bytes as well as
 * in documents: a page ends at LIST_MAX_BYTES with a next cursor, paging still visits every item
 * exactly once, and the unpaged stream returns them all while each store read holds at most the
 * budget.
 */
import assert from "node:assert/strict";
import { kvApi } from "../../src/api/kv.js";
import { approxBytes, firestorePages, wasCut } from "../../src/store/pages.js";
import { firestore } from "../../src/store/firebase.js";
import {
  call,
  personaTokens,
  seedPersonas,
  serve,
  type Persona,
  type TestServer,
} from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";

const MiB = 1024 * 1024;
const DOCS = 12;
const BUDGET = 3 * MiB;

describe("security M1: lists bounded in bytes", () => {
  let server: TestServer;
  let tokens: Record<Persona, string | undefined>;

  before(async () => {
    tokens = await personaTokens();
    server = await serve(kvApi, { listMaxBytes: BUDGET });
    await clearFirestore();
    await seedPersonas();
    // The review's attack: one signed-in user plants ~1 MiB values through the API.
    for (let i = 0; i < DOCS; i++) {
      const res = await call(server.url, "POST", `/v2/kv/big/k${String(i).padStart(2, "0")}`, {
        token: tokens.reader,
        body: { v: String(i % 10).repeat(1_040_000) },
      });
      assert.equal(res.status, 200, res.text.slice(0, 200));
    }
  });
  after(() => server.close());

  it("a page of ?limit=1000 stops at the byte budget and hands out a cursor; paging sees every key once", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=1000&cursor=${cursor}` : "?limit=1000";
      const res = await call<Record<string, { v: string }>>(server.url, "GET", `/v2/kv/big${query}`, {
        token: tokens.reader,
      });
      assert.equal(res.status, 200);
      const keys = Object.keys(res.body);
      assert.ok(keys.length >= 1);
      assert.ok(res.text.length <= BUDGET + 1.1 * MiB, `a page of ${res.text.length} bytes`);
      seen.push(...keys);
      cursor = res.headers.get("x-next-cursor");
      pages += 1;
    } while (cursor);
    assert.ok(pages >= 3, `${pages} pages: ${seen.join(",")}`);
    assert.deepEqual(
      seen,
      Array.from({ length: DOCS }, (_, i) => `k${String(i).padStart(2, "0")}`),
    );
  });

  it("the unpaged stream returns every value", async () => {
    const res = await call<Record<string, { v: string }>>(server.url, "GET", "/v2/kv/big", {
      token: tokens.reader,
    });
    assert.equal(res.status, 200);
    assert.equal(Object.keys(res.body).length, DOCS);
    assert.equal(res.body.k07!.v.length, 1_040_000);
  });

  it("one store read holds at most the budget (plus one document), whatever the limit", async () => {
    const email = "reader@example.org";
    const read = firestorePages(
      firestore().collection("clio_keyvalue").doc(email).collection("big"),
      (id, data) => ({
        key: id,
        value: data,
      }),
    );
    const items = await read(undefined, 500, BUDGET);
    const held = items.reduce((sum, i) => sum + approxBytes(i.value), 0);
    assert.ok(held < BUDGET + 1.1 * MiB, `${held} bytes held`);
    assert.ok(items.length < DOCS);
    assert.ok(wasCut(items), "the page says more may follow");
  });

  it("sizes deeply nested values without overflowing the stack", () => {
    let deep: unknown = "x";
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.equal(approxBytes(deep), 2);
  });
});
