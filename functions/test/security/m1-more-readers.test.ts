/**
 * Security review M1, the readers that still counted only documents: the annotations read-ahead
 * (STREAM_READ_AHEAD documents per query), the atlas `all` chain, pull requests and the file
 * catalog. The attack plants ~1 MiB documents and lists them; every reader now holds at most the
 * byte budget (plus one document) per store read, pages still visit every item exactly once,
 * and pull requests that could not be listed in one budget are refused when made.
 */
import assert from "node:assert/strict";
import { apiGroups } from "../../src/api/groups.js";
import { annotationPages, STREAM_READ_AHEAD } from "../../src/services/annotations.js";
import { visiblePointPages } from "../../src/services/atlas.js";
import { catalogPages, objectsOf } from "../../src/services/file-catalog.js";
import { PULL_REQUESTS } from "../../src/services/pull-requests.js";
import { firestore } from "../../src/store/firebase.js";
import { approxBytes, wasCut, type PageReader } from "../../src/store/pages.js";
import {
  apiToken,
  call,
  PERSONAS,
  PRIVATE_DS,
  resetToSeed,
  serve,
  type TestServer,
} from "../helpers/server.js";

const MiB = 1024 * 1024;
const BUDGET = 3 * MiB;
const DOCS = 8;
const big = (i: number) => String(i % 10).repeat(1_000_000);

/** One store read of `read` holds at most the budget plus one document, and says more follow. */
async function assertBounded(read: PageReader, what: string) {
  const items = await read(undefined, 500, BUDGET);
  const held = items.reduce((sum, i) => sum + approxBytes(i.value), 0);
  assert.ok(held < BUDGET + 1.1 * MiB, `${what}: ${held} bytes held`);
  assert.ok(items.length >= 1 && items.length < DOCS, `${what}: ${items.length} items`);
  assert.ok(wasCut(items), `${what}: the read says more may follow`);
}

/** Pages `path` with ?limit=1000 and returns the keys (object) or ids (array) in order. */
async function pageAll(api: TestServer, path: string, token: string, key: (v: unknown, k: string) => string) {
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const q: string = cursor ? `${sep}limit=1000&cursor=${cursor}` : `${sep}limit=1000`;
    const res = await call<unknown>(api.url, "GET", path + q, { token });
    assert.equal(res.status, 200, res.text.slice(0, 300));
    assert.ok(res.text.length <= BUDGET + 1.1 * MiB, `${path}: a page of ${res.text.length} bytes`);
    const body = res.body as Record<string, unknown> | unknown[];
    for (const [k, v] of Object.entries(body)) seen.push(key(v, k));
    cursor = res.headers.get("x-next-cursor");
    pages += 1;
  } while (cursor);
  assert.ok(pages >= 2, `${path}: ${pages} pages`);
  return seen;
}

describe("security M1: annotations, atlas, pull requests and file catalog bounded in bytes", () => {
  let api: TestServer;
  let reader: string;
  let writer: string;
  before(async () => {
    api = await serve(apiGroups, { listMaxBytes: BUDGET });
    reader = await apiToken(PERSONAS.reader);
    writer = await apiToken(PERSONAS.writer);
  });
  after(() => api.close());
  beforeEach(() => resetToSeed(api));

  it("v2 annotations of ~1 MiB: the read-ahead stops at the budget; pages and the stream see each once", async () => {
    for (let i = 0; i < DOCS; i++) {
      const res = await call(api.url, "POST", `/v2/annotations/${PRIVATE_DS}`, {
        token: reader,
        body: { kind: "point", pos: [i, 0, 0], prop: { blob: big(i) } },
      });
      assert.equal(res.status, 200, res.text);
    }
    const keys = Array.from({ length: DOCS }, (_, i) => `Pt${i}_0_0`);
    await assertBounded(
      annotationPages(firestore(), PRIVATE_DS, [PERSONAS.reader], STREAM_READ_AHEAD),
      "read-ahead",
    );
    const paged = await pageAll(
      api,
      `/v2/annotations/${PRIVATE_DS}`,
      reader,
      (v) => (v as { key: string }).key,
    );
    assert.deepEqual(paged, keys);
    const streamed = await call<{ key: string; prop: { blob: string } }[]>(
      api.url,
      "GET",
      `/v2/annotations/${PRIVATE_DS}`,
      { token: reader },
    );
    assert.equal(streamed.status, 200);
    assert.deepEqual(
      streamed.body.map((a) => a.key),
      keys,
    );
    assert.equal(streamed.body[5]!.prop.blob, big(5));
  });

  it("atlas points of ~1 MiB: GET /v2/atlas/all pages by bytes and streams every point", async () => {
    for (let i = 0; i < DOCS; i++) {
      const res = await call(api.url, "POST", `/v2/atlas/${PRIVATE_DS}?x=${i}&y=0&z=0`, {
        token: reader,
        body: { title: `p${i}`, user: PERSONAS.reader, blob: big(i) },
      });
      assert.equal(res.status, 200, res.text);
    }
    // The curator's view: every unverified point of a dataset they can verify.
    const curator = await api.deps.users.get(PERSONAS.writer);
    await assertBounded(await visiblePointPages(api.deps, curator), "atlas chain");
    const titles = await pageAll(api, "/v2/atlas/all", writer, (v) => (v as { title: string }).title);
    assert.deepEqual(
      titles.sort(),
      Array.from({ length: DOCS }, (_, i) => `p${i}`),
    );
    const streamed = await call<{ title: string }[]>(api.url, "GET", "/v2/atlas/all", { token: writer });
    assert.equal(streamed.status, 200);
    assert.equal(streamed.body.length, DOCS);
  });

  it("pull requests: one user's past the budget are refused when made, with nothing written", async () => {
    for (let i = 0; i < 4; i++) {
      const put = await call(api.url, "POST", `/v2/kv/s/k${i}`, { token: reader, body: { v: big(i) } });
      assert.equal(put.status, 200);
    }
    for (let i = 0; i < 3; i++) {
      const res = await call(api.url, "POST", "/v2/pull-request", {
        token: reader,
        body: { pull: `kv/s/k${i}` },
      });
      assert.equal(res.status, 200, res.text);
    }
    const again = await call(api.url, "POST", "/v2/pull-request", {
      token: reader,
      body: { pull: "kv/s/k1" },
    });
    assert.equal(again.status, 200, "re-pulling replaces, it does not add");
    const over = await call<{ detail: string }>(api.url, "POST", "/v2/pull-request", {
      token: reader,
      body: { pull: "kv/s/k3" },
    });
    assert.equal(over.status, 413, over.text);
    assert.match(over.body.detail, /LIST_MAX_BYTES/);
    const stored = await firestore()
      .collection(PULL_REQUESTS)
      .doc(PERSONAS.reader)
      .collection("s")
      .listDocuments();
    assert.deepEqual(stored.map((d) => d.id).sort(), ["k0", "k1", "k2"]);
    const list = await call<Record<string, Record<string, Record<string, { v: string }>>>>(
      api.url,
      "GET",
      "/v2/pull-request",
      { token: reader },
    );
    assert.equal(list.status, 200);
    assert.equal(list.body[PERSONAS.reader]!.s!.k1!.v, big(1));
  });

  it("pull requests planted past the budget (before the cap) are refused on read, not loaded whole", async () => {
    const scope = firestore().collection(PULL_REQUESTS).doc(PERSONAS.reader).collection("s");
    for (let i = 0; i < 4; i++) await scope.doc(`k${i}`).set({ v: big(i) });
    const res = await call<{ detail: string }>(api.url, "GET", "/v2/pull-request?limit=10", {
      token: reader,
    });
    assert.equal(res.status, 413, res.text.slice(0, 200));
    assert.match(res.body.detail, /LIST_MAX_BYTES/);
  });

  it("the file catalog reader stops at the budget and pages every entry once", async () => {
    const objects = objectsOf(firestore(), PRIVATE_DS);
    for (let i = 0; i < DOCS; i++)
      await objects.doc(`f${i}`).set({
        path: `f${i}`,
        deleted: false,
        terms: ["f"],
        metadataText: JSON.stringify({ blob: big(i) }),
      });
    const read = catalogPages(firestore(), PRIVATE_DS, {});
    await assertBounded(read, "file catalog");
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const items = await read(after, 500, BUDGET);
      seen.push(...items.map((i) => i.key));
      if (!wasCut(items)) break;
      after = items.at(-1)!.position;
    }
    assert.deepEqual(
      seen,
      Array.from({ length: DOCS }, (_, i) => `f${i}`),
    );
  });
});
