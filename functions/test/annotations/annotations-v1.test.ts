import assert from "node:assert/strict";
import { annotationsV1Api } from "../../src/api/annotations-v1.js";
import { firestore } from "../../src/store/firebase.js";
import { checkMatrix } from "../helpers/matrix.js";
import {
  call,
  personaTokens,
  PERSONAS,
  PRIVATE_DS,
  PUBLIC_DS,
  resetToSeed,
  serve,
  type Persona,
  type TestServer,
} from "../helpers/server.js";

type Doc = Record<string, unknown>;

const READER = PERSONAS.reader;
const NOW = new Date("2024-05-01T12:00:00Z");
const v1 = () => firestore().collection("clio_annotations").doc("USER").collection("annotations");

async function everything(): Promise<Record<string, Doc>> {
  const snap = await v1().get();
  return Object.fromEntries(snap.docs.map((d) => [d.id, d.data()]));
}

describe("annotations v1", () => {
  let server: TestServer;
  let tokens: Record<Persona, string | undefined>;

  before(async () => {
    server = await serve(annotationsV1Api);
    server.deps.now = () => NOW;
    tokens = await personaTokens();
  });
  after(() => server.close());
  beforeEach(async () => {
    await resetToSeed(server);
  });

  it("stores any JSON at a location and returns the caller's dict keyed x_y_z", async () => {
    const post = await call(server.url, "POST", `/annotations/${PRIVATE_DS}?x=50&y=30&z=50`, {
      token: tokens.reader,
      body: { foo: "bar", nested: { n: [1, 2] } },
    });
    assert.equal(post.status, 200);
    assert.equal(post.body, null);
    // Another user's annotation at the same place, and the reader's in another dataset, stay apart.
    await call(server.url, "POST", `/annotations/${PRIVATE_DS}?x=50&y=30&z=50`, {
      token: tokens.writer,
      body: { other: 1 },
    });
    await call(server.url, "POST", `/annotations/${PUBLIC_DS}?x=1&y=2&z=3`, {
      token: tokens.reader,
      body: { elsewhere: true },
    });

    const res = await call<Record<string, Doc>>(server.url, "GET", `/annotations/${PRIVATE_DS}`, {
      token: tokens.reader,
    });
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body), ["50_30_50"]);
    const { id, ...rest } = res.body["50_30_50"]!;
    assert.equal(typeof id, "string");
    assert.deepEqual(rest, {
      foo: "bar",
      nested: { n: [1, 2] },
      timestamp: NOW.getTime() / 1000,
      dataset: PRIVATE_DS,
      location: [50, 30, 50],
      locationkey: "50_30_50",
      email: READER,
    });
    const toplevel = await call(server.url, "GET", `/clio_toplevel/annotations/${PRIVATE_DS}/`, {
      token: tokens.reader,
    });
    assert.deepEqual(toplevel.body, res.body);
  });

  it("overwrites at a location instead of adding a duplicate, and cleans up old duplicates", async () => {
    const legacy = {
      email: READER,
      dataset: PRIVATE_DS,
      locationkey: "1_2_3",
      location: [1, 2, 3],
      timestamp: 1,
    };
    await v1()
      .doc("legacyA")
      .set({ ...legacy, n: 1 });
    await v1()
      .doc("legacyB")
      .set({ ...legacy, n: 2 });
    const post = await call(server.url, "PUT", `/annotations/${PRIVATE_DS}?x=1&y=2&z=3`, {
      token: tokens.reader,
      body: { n: 3 },
    });
    assert.equal(post.status, 200);
    const stored = await everything();
    assert.equal(Object.keys(stored).length, 1);
    assert.equal(Object.values(stored)[0]!.n, 3);

    await call(server.url, "POST", `/annotations/${PRIVATE_DS}?x=7&y=8&z=9`, {
      token: tokens.reader,
      body: { n: 1 },
    });
    await call(server.url, "POST", `/annotations/${PRIVATE_DS}?x=7&y=8&z=9`, {
      token: tokens.reader,
      body: { m: 2 },
    });
    const res = await call<Record<string, Doc>>(server.url, "GET", `/annotations/${PRIVATE_DS}`, {
      token: tokens.reader,
    });
    assert.deepEqual(Object.keys(res.body).sort(), ["1_2_3", "7_8_9"]);
    assert.equal(res.body["7_8_9"]!.m, 2);
    assert.equal(res.body["7_8_9"]!.n, undefined);
    assert.equal(Object.keys(await everything()).length, 2);
  });

  it("concurrent first writes at one location leave one document", async () => {
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        call(server.url, "POST", `/annotations/${PRIVATE_DS}?x=4&y=4&z=4`, {
          token: tokens.reader,
          body: { i },
        }),
      ),
    );
    assert.equal(Object.keys(await everything()).length, 1);
  });

  it("deletes the caller's annotation at a location only", async () => {
    await call(server.url, "POST", `/annotations/${PRIVATE_DS}?x=1&y=1&z=1`, {
      token: tokens.reader,
      body: { a: 1 },
    });
    await call(server.url, "POST", `/annotations/${PRIVATE_DS}?x=1&y=1&z=1`, {
      token: tokens.writer,
      body: { a: 2 },
    });
    await call(server.url, "POST", `/annotations/${PRIVATE_DS}?x=2&y=2&z=2`, {
      token: tokens.reader,
      body: { a: 3 },
    });
    const del = await call(server.url, "DELETE", `/annotations/${PRIVATE_DS}?x=1&y=1&z=1`, {
      token: tokens.reader,
    });
    assert.equal(del.status, 200);
    assert.equal(del.body, null);
    const mine = await call<Record<string, Doc>>(server.url, "GET", `/annotations/${PRIVATE_DS}`, {
      token: tokens.reader,
    });
    assert.deepEqual(Object.keys(mine.body), ["2_2_2"]);
    const theirs = await call<Record<string, Doc>>(server.url, "GET", `/annotations/${PRIVATE_DS}`, {
      token: tokens.writer,
    });
    assert.deepEqual(Object.keys(theirs.body), ["1_1_1"]);
    const again = await call(server.url, "DELETE", `/annotations/${PRIVATE_DS}?x=1&y=1&z=1`, {
      token: tokens.reader,
    });
    assert.equal(again.status, 200);
  });

  it("pages with limit and cursor", async () => {
    for (let i = 0; i < 5; i++) {
      await call(server.url, "POST", `/annotations/${PRIVATE_DS}?x=${i}&y=0&z=0`, {
        token: tokens.reader,
        body: { i },
      });
    }
    const first = await call<Record<string, Doc>>(server.url, "GET", `/annotations/${PRIVATE_DS}?limit=3`, {
      token: tokens.reader,
    });
    assert.equal(Object.keys(first.body).length, 3);
    const cursor = first.headers.get("x-next-cursor");
    assert.ok(cursor);
    const second = await call<Record<string, Doc>>(
      server.url,
      "GET",
      `/annotations/${PRIVATE_DS}?limit=3&cursor=${encodeURIComponent(cursor)}`,
      {
        token: tokens.reader,
      },
    );
    assert.equal(Object.keys(second.body).length, 2);
    assert.equal(second.headers.get("x-next-cursor"), null);
    assert.deepEqual([...Object.keys(first.body), ...Object.keys(second.body)].sort(), [
      "0_0_0",
      "1_0_0",
      "2_0_0",
      "3_0_0",
      "4_0_0",
    ]);
  });

  it("refuses bad input with a message and writes nothing", async () => {
    await call(server.url, "POST", `/annotations/${PRIVATE_DS}?x=1&y=1&z=1`, {
      token: tokens.reader,
      body: { a: 1 },
    });
    const before = await everything();
    const cases: { method: string; path: string; body?: unknown }[] = [
      { method: "POST", path: `/annotations/${PRIVATE_DS}?x=1&y=1`, body: { a: 1 } },
      { method: "POST", path: `/annotations/${PRIVATE_DS}?x=1.5&y=1&z=1`, body: { a: 1 } },
      { method: "POST", path: `/annotations/${PRIVATE_DS}?x=&y=1&z=1`, body: { a: 1 } },
      { method: "POST", path: `/annotations/${PRIVATE_DS}?x=1&y=1&z=1`, body: [1, 2] },
      { method: "POST", path: `/annotations/${PRIVATE_DS}?x=1&y=1&z=1`, body: "text" },
      { method: "POST", path: `/annotations/${PRIVATE_DS}?x=1&y=1&z=1`, body: { grid: [[1]] } },
      { method: "POST", path: "/annotations/bad%20ds?x=1&y=1&z=1", body: { a: 1 } },
      { method: "DELETE", path: `/annotations/${PRIVATE_DS}?x=1&y=1` },
      { method: "DELETE", path: `/annotations/${PRIVATE_DS}?x=a&y=1&z=1` },
    ];
    for (const c of cases) {
      const res = await call<{ code: string; detail: string }>(server.url, c.method, c.path, {
        token: tokens.reader,
        body: c.body,
      });
      assert.equal(res.status, 400, `${c.method} ${c.path}: ${res.text}`);
      assert.equal(res.body.code, "invalid_argument");
      assert.ok(res.body.detail.length > 0);
    }
    const huge = await call(server.url, "POST", `/annotations/${PRIVATE_DS}?x=1&y=1&z=1`, {
      token: tokens.reader,
      body: { big: "x".repeat(1_100_000) },
    });
    assert.equal(huge.status, 413);
    assert.deepEqual(await everything(), before);
  });

  it("permission matrix for GET, POST and DELETE on the private and the public dataset", async () => {
    const expectPrivate = {
      anonymous: 401,
      unknown: 403,
      reader: 200,
      writer: 200,
      datasetAdmin: 200,
      admin: 200,
      disabled: 403,
    };
    const expectPublic = { ...expectPrivate, unknown: 200 };
    for (const method of ["GET", "POST", "DELETE"]) {
      for (const [ds, expected] of [
        [PRIVATE_DS, expectPrivate],
        [PUBLIC_DS, expectPublic],
      ] as const) {
        const path = method === "GET" ? `/annotations/${ds}` : `/annotations/${ds}?x=1&y=2&z=3`;
        await checkMatrix(
          server,
          tokens,
          { method, path, body: method === "POST" ? { a: 1 } : undefined },
          expected,
        );
      }
    }
  });
});
