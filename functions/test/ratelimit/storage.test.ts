/** The per-user cap on KV keys (KV_MAX_KEYS_PER_USER). */
import assert from "node:assert/strict";
import { kvApi } from "../../src/api/kv.js";
import { KEYVALUE } from "../../src/services/kv.js";
import { firestore } from "../../src/store/firebase.js";
import { apiToken, call, PERSONAS, resetToSeed, serve, type TestServer } from "../helpers/server.js";

describe("KV storage cap per user", () => {
  let api: TestServer;
  let reader: string;
  before(async () => {
    api = await serve(kvApi, { kvMaxKeysPerUser: 3 });
    reader = await apiToken(PERSONAS.reader);
  });
  after(() => api.close());
  beforeEach(() => resetToSeed(api));

  const stored = async () => {
    const scopes = await firestore().collection(KEYVALUE).doc(PERSONAS.reader).listCollections();
    const keys: string[] = [];
    for (const s of scopes) for (const d of (await s.get()).docs) keys.push(`${s.id}/${d.id}`);
    return keys.sort();
  };
  const put = (path: string, token = reader) =>
    call(api.url, "POST", `/v2/kv/${path}`, { token, body: { v: 1 } });

  it("refuses a new key past the cap across scopes, and allows overwrites and writes after a delete", async () => {
    for (const p of ["a/1", "a/2", "b/1"]) assert.equal((await put(p)).status, 200);
    const over = await call<{ detail: string }>(api.url, "POST", "/v2/kv/c/1", {
      token: reader,
      body: { v: 1 },
    });
    assert.equal(over.status, 429);
    assert.match(over.body.detail, /KV_MAX_KEYS_PER_USER/);
    assert.deepEqual(await stored(), ["a/1", "a/2", "b/1"], "nothing written");
    assert.equal((await put("a/1")).status, 200, "overwriting an existing key");
    assert.equal((await call(api.url, "DELETE", "/v2/kv/a/2", { token: reader })).status, 200);
    assert.equal((await call(api.url, "DELETE", "/v2/kv/a/2", { token: reader })).status, 200, "idempotent");
    assert.equal((await put("c/1")).status, 200);
    assert.equal((await put("c/2")).status, 429, "the repeated delete freed only one");
    const writer = await apiToken(PERSONAS.writer);
    assert.equal((await put("a/1", writer)).status, 200, "another user has their own cap");
  });

  it("never passes the cap under concurrent writes", async () => {
    const statuses = await Promise.all(["a", "b", "c", "d", "e"].map((k) => put(`s/${k}`)));
    assert.equal(statuses.filter((r) => r.status === 200).length, 3);
    assert.equal((await stored()).length, 3);
  });
});
