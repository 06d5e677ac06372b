/**
 * Security review L12, the rest: reserved `__x__` field names, deep nesting, ids over Firestore's
 * 1,500-byte limit (in bytes, not characters) or `.`/`..`/`__x__`, a `__proto__` merged into an
 * annotation, and a malformed percent-escape in the path. Each answered 500; each is now a 400
 * naming the problem, with nothing written.
 */
import assert from "node:assert/strict";
import { apiGroups } from "../../src/api/groups.js";
import { firestore } from "../../src/store/firebase.js";
import {
  apiToken,
  call,
  PERSONAS,
  PRIVATE_DS,
  resetToSeed,
  serve,
  type TestServer,
} from "../helpers/server.js";

/** Every document under the user-owned stores, as paths. */
async function storedPaths(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (ref: FirebaseFirestore.DocumentReference) => {
    for (const c of await ref.listCollections())
      for (const d of await c.listDocuments()) {
        const snap = await d.get();
        if (snap.exists) out.push(d.path);
        await walk(d);
      }
  };
  for (const c of [
    "clio_keyvalue",
    "clio_annotations_v2",
    "clio_annotations",
    "clio_site_reports",
    "clio_savedsearches",
    "clio_atlas",
  ])
    for (const d of await firestore().collection(c).listDocuments()) {
      if ((await d.get()).exists) out.push(d.path);
      await walk(d);
    }
  return out.sort();
}

function nested(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

describe("security L12: field names, ids, __proto__ and path escapes answer 400", () => {
  let api: TestServer;
  let reader: string;
  let writer: string;
  before(async () => {
    api = await serve(apiGroups);
    reader = await apiToken(PERSONAS.reader);
    writer = await apiToken(PERSONAS.writer);
  });
  after(() => api.close());
  beforeEach(() => resetToSeed(api));

  const post = (path: string, body: unknown, token = reader) =>
    call<{ detail: string }>(api.url, "POST", path, { token, body });

  it('POST /v2/kv/s/k {"__x__":1} and reserved names nested anywhere are refused', async () => {
    for (const body of [{ __x__: 1 }, { a: { __name__: 1 } }, { a: [{ __x__: 2 }] }, { a: { "": 1 } }]) {
      const res = await post("/v2/kv/s/k", body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.body.detail, /reserved field name|empty field name/);
    }
    assert.deepEqual(await storedPaths(), []);
  });

  it("a kv value nested deeper than 20 levels (or 100,000) is a 400, not a stack overflow", async () => {
    for (const depth of [21, 100_000]) {
      // Built as text: JSON.stringify itself would overflow on the deep one.
      const text = '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
      const res = await call<{ detail: string }>(api.url, "POST", "/v2/kv/s/k", {
        token: reader,
        body: text,
        headers: { "content-type": "text/plain" },
      });
      assert.equal(res.status, 400, `${depth}: ${res.text.slice(0, 200)}`);
      assert.match(res.body.detail, /nested more than 20 levels/);
    }
    assert.equal((await post("/v2/kv/s/k", nested(18))).status, 200, "19 levels fit");
  });

  it("site reports, saved searches, atlas points and v1 annotations refuse reserved names and deep values", async () => {
    const bad = { title: "t", user: PERSONAS.writer, meta: { __x__: 1 } };
    for (const [path, body, token] of [
      ["/v2/site-reports", { projectUrl: "u", __x__: 1 }, reader],
      [`/v2/savedsearches/${PRIVATE_DS}?x=1&y=2&z=3`, { note: nested(25) }, reader],
      [`/v2/atlas/${PRIVATE_DS}?x=1&y=2&z=3`, bad, writer],
      [`/annotations/${PRIVATE_DS}?x=1&y=2&z=3`, { a: { __proto__x__: 1 } }, reader],
      [`/v2/annotations/${PRIVATE_DS}`, { kind: "point", pos: [1, 2, 3], prop: { __p__: 1 } }, reader],
    ] as const) {
      const res = await post(path, body, token);
      assert.equal(res.status, 400, `${path}: ${res.status} ${res.text}`);
      assert.match(res.body.detail, /reserved field name|nested more than 20/, path);
    }
    assert.deepEqual(await storedPaths(), []);
  });

  it("ids over 1,500 bytes (but under 1,500 characters) and reserved ids are refused", async () => {
    const multiByte = "é".repeat(751); // 751 characters, 1,502 bytes
    for (const path of [
      `/v2/kv/s/${encodeURIComponent(multiByte)}`,
      `/v2/kv/${encodeURIComponent(multiByte)}/k`,
      "/v2/kv/s/__x__",
      "/v2/kv/__x__/k",
    ]) {
      const res = await post(path, { v: 1 });
      assert.equal(res.status, 400, `${path.slice(0, 40)}: ${res.status} ${res.text}`);
      assert.match(res.body.detail, /Firestore id|1500 bytes/);
    }
    const del = await call<{ detail: string }>(
      api.url,
      "DELETE",
      `/v2/annotations/${PRIVATE_DS}/${encodeURIComponent(multiByte)}`,
      { token: reader },
    );
    assert.equal(del.status, 400, del.text);
    assert.match(del.body.detail, /annotation key/);
    assert.deepEqual(await storedPaths(), []);
    const ok = await post(`/v2/kv/s/${encodeURIComponent("é".repeat(750))}`, { v: 1 });
    assert.equal(ok.status, 200, "exactly 1,500 bytes fits");
  });

  it("a __proto__ in an annotation merge stays out: refused, no prototype swapped, nothing written", async () => {
    const first = await post(`/v2/annotations/${PRIVATE_DS}`, {
      kind: "point",
      pos: [1, 2, 3],
      prop: { a: { b: 1 } },
    });
    assert.equal(first.status, 200, first.text);
    // The review's request, sent as raw JSON so __proto__ is an own key as a client sends it.
    const text = `{"kind":"point","pos":[1,2,3],"prop":{"a":{"__proto__":{"polluted":true},"c":2}}}`;
    const res = await call<{ detail: string }>(
      api.url,
      "POST",
      `/v2/annotations/${PRIVATE_DS}?replace=false`,
      {
        token: reader,
        body: text,
        headers: { "content-type": "text/plain" },
      },
    );
    assert.equal(res.status, 400, res.text);
    assert.match(res.body.detail, /reserved field name '__proto__'/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype untouched");
    const stored = await firestore()
      .collection("clio_annotations_v2")
      .doc(PRIVATE_DS)
      .collection(PERSONAS.reader)
      .doc("Pt1_2_3")
      .get();
    assert.deepEqual(stored.data()?.prop, { a: { b: 1 } }, "the stored annotation is unchanged");
  });

  it("a malformed percent-escape in the path is a 400", async () => {
    for (const [method, path] of [
      ["GET", "/v2/kv/s/%E0%A4%A"],
      ["POST", "/v2/kv/%ZZ/k"],
      ["DELETE", `/v2/annotations/${PRIVATE_DS}/%`],
    ] as const) {
      const res = await call<{ detail: string }>(api.url, method, path, {
        token: reader,
        body: method === "POST" ? { v: 1 } : undefined,
      });
      assert.equal(res.status, 400, `${method} ${path}: ${res.status} ${res.text}`);
      assert.match(res.body.detail, /percent-escape/);
    }
    assert.deepEqual(await storedPaths(), []);
    assert.ok(!api.logs.some((l) => l.level === "error"), "no internal error logged");
  });
});
