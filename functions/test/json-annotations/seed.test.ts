/** The `npm start` seed: a few hundred body annotations on private-ds across two tags. */
import assert from "node:assert/strict";
import { loadSeed } from "../../../scripts/lib/seed.js";
import { createJsonAnnotationsApi } from "../../src/api/json-annotations.js";
import { firestore } from "../../src/store/firebase.js";
import { clearFirestore } from "../setup/hooks.js";
import { apiToken, serve, type TestServer } from "../helpers/server.js";
import { BASE, send } from "./util.js";

describe("json-annotations: the emulator seed", () => {
  let server: TestServer;
  let api: ReturnType<typeof createJsonAnnotationsApi>;
  before(async function () {
    this.timeout(60_000);
    await clearFirestore();
    await loadSeed(firestore());
    api = createJsonAnnotationsApi();
    server = await serve(api);
  });
  after(async () => {
    await api.close();
    await server.close();
  });

  it("has the current tag at HEAD and the previous one as it was when the dataset moved on", async () => {
    const token = await apiToken("writer@example.org");
    const count = async (q: string) => {
      const res = await send(server.url, "POST", `${BASE}/query?onlyid=true${q}`, {
        token,
        body: JSON.stringify({ type: "exists/1" }),
      });
      assert.equal(res.status, 200, res.text);
      return (res.body as unknown[]).length;
    };
    assert.equal(await count(""), 321);
    assert.equal(await count("&version=v1.2"), 321);
    assert.equal(await count("&version=v1.1"), 300);
    assert.deepEqual((await send(server.url, "GET", `${BASE}/versions`, { token })).body, {
      "v1.1": "9f8e7d",
      "v1.2": "a1b2c3",
    });
    const changed = await send(server.url, "GET", `${BASE}/id-number/10000?changes=true`, { token });
    assert.equal((changed.body as unknown[]).length, 2);
    const big = await send(server.url, "GET", `${BASE}/id-number/18014398509481985`, { token });
    assert.equal(big.text, '[{"bodyid":18014398509481985,"type":"LC4","status":"Anchor"}]');
  });
});
