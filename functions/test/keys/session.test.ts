/** L2: API tokens cannot renew themselves past the maximum session age. */
import assert from "node:assert/strict";
import { decodeJwt } from "jose";
import { serverApi } from "../../src/api/server.js";
import { apiToken, call, PERSONAS, resetToSeed, serve, type TestServer } from "../helpers/server.js";

const DAY = 86_400;
const now = () => Math.floor(Date.now() / 1000);

describe("maximum session age (L2)", () => {
  let api: TestServer;
  before(async () => {
    api = await serve(serverApi);
  });
  after(() => api.close());
  beforeEach(() => resetToSeed(api));

  it("refuses to renew an API token whose session began more than 30 days ago (the review's attack)", async () => {
    const stolen = await apiToken(PERSONAS.reader, { claims: { sst: now() - 31 * DAY } });
    const res = await call<{ detail: string }>(api.url, "POST", "/v2/server/token", { token: stolen });
    assert.equal(res.status, 401);
    assert.match(res.body.detail, /MAX_SESSION_AGE_SECONDS/);
  });

  it("carries the session start through every renewal", async () => {
    const started = now() - 10 * DAY;
    let token = await apiToken(PERSONAS.reader, { claims: { sst: started } });
    for (let i = 0; i < 2; i++) {
      const res = await call<string>(api.url, "POST", "/v2/server/token", { token });
      assert.equal(res.status, 200, res.text);
      token = res.body;
      assert.equal(decodeJwt(token).sst, started);
    }
  });

  it("counts a token issued before sessions were tracked from its iat", async () => {
    const legacy = await apiToken(PERSONAS.reader);
    const res = await call<string>(api.url, "POST", "/v2/server/token", { token: legacy });
    assert.equal(res.status, 200);
    assert.equal(decodeJwt(res.body).sst, decodeJwt(legacy).iat);
  });

  it("follows MAX_SESSION_AGE_SECONDS", async () => {
    const short = await serve(serverApi, { maxSessionAgeSeconds: 3600 });
    try {
      const token = await apiToken(PERSONAS.reader, { claims: { sst: now() - 7200 } });
      assert.equal((await call(short.url, "POST", "/v2/server/token", { token })).status, 401);
      assert.equal((await call(api.url, "POST", "/v2/server/token", { token })).status, 200);
    } finally {
      await short.close();
    }
  });
});
