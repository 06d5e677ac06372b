/**
 * Security review L3 (a short FLYEM_SECRET) and L10 (a Google ID token issued before a
 * revocation could still mint fresh API tokens).
 */
import assert from "node:assert/strict";
import { rolesApi } from "../../src/api/roles.js";
import { serverApi } from "../../src/api/server.js";
import { configSchema } from "../../src/config.js";
import { startGoogleCertsServer, type GoogleCertsServer } from "../../loopback/google-certs.js";
import { apiToken, call, seedPersonas, serve, type TestServer } from "../helpers/server.js";
import { clearFirestore, TEST_PROJECT_ID } from "../setup/hooks.js";

describe("security L3/L10: API-token key and revocation", () => {
  let google: GoogleCertsServer;
  let server: TestServer;
  let other: TestServer;

  before(async () => {
    google = await startGoogleCertsServer();
    server = await serve([rolesApi, serverApi], { googleCertsUrl: google.certsUrl });
    // A second instance; with no cache it shows what every instance sees once its cache expires.
    other = await serve([rolesApi, serverApi], { googleCertsUrl: google.certsUrl, cacheSeconds: 0 });
  });
  after(async () => {
    await server.close();
    await other.close();
    await google.close();
  });
  beforeEach(async () => {
    await clearFirestore();
    await seedPersonas();
    for (const s of [server, other]) {
      s.deps.users.invalidate();
      s.deps.tokenState.forget();
    }
  });

  it("L3: a FLYEM_SECRET under 32 bytes stops the configuration, naming the param", () => {
    const short = configSchema.safeParse({ projectId: TEST_PROJECT_ID, tokenSecret: "x" });
    assert.equal(short.success, false);
    assert.match(JSON.stringify(short.error?.issues), /FLYEM_SECRET must be at least 32 bytes/);
    assert.equal(
      configSchema.safeParse({ projectId: TEST_PROJECT_ID, tokenSecret: "k".repeat(32) }).success,
      true,
    );
    assert.equal(configSchema.safeParse({ projectId: TEST_PROJECT_ID, tokenSecret: "" }).success, true);
  });

  it("L10: after a revocation, a Google ID token issued before it no longer mints API tokens", async () => {
    const now = Math.floor(Date.now() / 1000);
    const stolen = await google.sign({ email: "reader@example.org", iat: now - 60 });
    assert.equal((await call(server.url, "POST", "/v2/server/token", { token: stolen })).status, 200);

    const revoke = await call(server.url, "POST", "/v2/server/revoke", {
      token: await apiToken("reader@example.org"),
    });
    assert.equal(revoke.status, 200);

    for (const s of [server, other]) {
      const res = await call<{ detail: string }>(s.url, "POST", "/v2/server/token", { token: stolen });
      assert.equal(res.status, 401);
      assert.match(res.body.detail, /revoked/);
    }
    // Signing in again works.
    const fresh = await google.sign({ email: "reader@example.org", iat: now + 2 });
    assert.equal((await call(server.url, "POST", "/v2/server/token", { token: fresh })).status, 200);
  });
});
