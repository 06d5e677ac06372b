/**
 * Security review H1: a Google ID token minted for another app (its `aud`) must not be accepted,
 * nor exchanged for an API token, under the DEFAULT configuration; `azp` is checked too, and an
 * empty GOOGLE_AUDIENCES refuses Google tokens with a message naming the param.
 */
import assert from "node:assert/strict";
import { rolesApi } from "../../src/api/roles.js";
import { serverApi } from "../../src/api/server.js";
import { DEFAULT_GOOGLE_AUDIENCES } from "../../src/config.js";
import { startGoogleCertsServer, type GoogleCertsServer } from "../../loopback/google-certs.js";
import { call, seedPersonas, serve, type TestServer } from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";

const WEBSITE = "464281314980-qlc4o2ce8htnhhgdb0g0j681de2l3980.apps.googleusercontent.com";
const GCLOUD = "32555940559.apps.googleusercontent.com";
const MALEVNC = "838644154009-0e4sr9qgt3jp6k31u0m6jcsifapi62ap.apps.googleusercontent.com";
const ATTACKER = "attacker-client.apps.googleusercontent.com";

describe("security H1: Google ID-token audience", () => {
  let google: GoogleCertsServer;
  let server: TestServer;

  before(async () => {
    google = await startGoogleCertsServer();
    // Only the certificate URL is overridden: GOOGLE_AUDIENCES keeps its shipped default.
    server = await serve([rolesApi, serverApi], { googleCertsUrl: google.certsUrl });
  });
  after(async () => {
    await server.close();
    await google.close();
  });
  beforeEach(async () => {
    await clearFirestore();
    await seedPersonas();
    server.deps.users.invalidate();
  });

  it("defaults to exactly the Clio website, gcloud and malevnc clients", () => {
    assert.deepEqual([...DEFAULT_GOOGLE_AUDIENCES].sort(), [WEBSITE, GCLOUD, MALEVNC].sort());
    assert.deepEqual([...server.deps.config.googleAudiences].sort(), [WEBSITE, GCLOUD, MALEVNC].sort());
  });

  it("refuses the review's attack: an admin's token for a foreign app cannot be exchanged", async () => {
    const stolen = await google.sign({ email: "admin@example.org", aud: ATTACKER, azp: ATTACKER });
    const exchange = await call<{ detail: string }>(server.url, "POST", "/v2/server/token", {
      token: stolen,
    });
    assert.equal(exchange.status, 401);
    assert.equal(typeof exchange.body, "object", "no API token is handed out");
    assert.equal((await call(server.url, "GET", "/v2/roles", { token: stolen })).status, 401);
  });

  it("accepts tokens of each well-known client", async () => {
    for (const aud of [WEBSITE, GCLOUD, MALEVNC]) {
      const token = await google.sign({ email: "reader@example.org", aud, azp: aud });
      const res = await call<{ email: string }>(server.url, "GET", "/v2/roles", { token });
      assert.equal(res.status, 200, aud);
      assert.equal(res.body.email, "reader@example.org");
    }
  });

  it("refuses a token whose azp (the client it was issued to) is foreign, even with a good aud", async () => {
    const token = await google.sign({ email: "reader@example.org", aud: WEBSITE, azp: ATTACKER });
    const res = await call<{ detail: string }>(server.url, "GET", "/v2/roles", { token });
    assert.equal(res.status, 401);
    assert.match(res.body.detail, /azp/);
  });

  it("an empty GOOGLE_AUDIENCES refuses every Google token and names the param", async () => {
    const closed = await serve(rolesApi, { googleCertsUrl: google.certsUrl, googleAudiences: "" });
    try {
      const token = await google.sign({ email: "reader@example.org", aud: GCLOUD });
      const res = await call<{ detail: string }>(closed.url, "GET", "/v2/roles", { token });
      assert.equal(res.status, 401);
      assert.match(res.body.detail, /GOOGLE_AUDIENCES/);
    } finally {
      await closed.close();
    }
  });
});
