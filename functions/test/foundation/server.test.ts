import assert from "node:assert/strict";
import { decodeJwt } from "jose";
import { rolesApi } from "../../src/api/roles.js";
import { serverApi } from "../../src/api/server.js";
import { firestore } from "../../src/store/firebase.js";
import { startGoogleCertsServer, type GoogleCertsServer } from "../../loopback/google-certs.js";
import { checkMatrix } from "../helpers/matrix.js";
import {
  apiToken,
  call,
  personaTokens,
  seedPersonas,
  serve,
  type Persona,
  type TestServer,
} from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";

describe("/v2/server", () => {
  let google: GoogleCertsServer;
  let server: TestServer;
  let tokens: Record<Persona, string | undefined>;

  before(async () => {
    google = await startGoogleCertsServer();
    server = await serve([serverApi, rolesApi], {
      googleCertsUrl: google.certsUrl,
      tokenLifetimeSeconds: 7200,
    });
    tokens = await personaTokens();
  });
  after(async () => {
    await server.close();
    await google.close();
  });
  beforeEach(async () => {
    await clearFirestore();
    await seedPersonas();
    server.deps.users.invalidate();
    server.deps.tokenState.forget();
  });

  describe("POST /v2/server/token", () => {
    it("exchanges a Google token for a JSON-string API token with clio's claims", async () => {
      const g = await google.sign({
        email: "Reader@Example.org",
        name: "Reed",
        picture: "https://p/x.png",
        hd: "example.org",
      });
      const res = await call<string>(server.url, "POST", "/v2/server/token", { token: g });
      assert.equal(res.status, 200);
      assert.ok(res.text.startsWith('"') && res.text.endsWith('"'), "the body is a JSON string");
      const claims = decodeJwt(res.body);
      assert.equal(claims.email, "reader@example.org");
      assert.equal(claims.iss, "flyem-clio-store");
      assert.equal(claims.name, "Reed");
      assert.equal(claims.picture, "https://p/x.png");
      assert.equal(claims.hd, "example.org");
      assert.equal(claims.aud, undefined, "Google's aud is never copied");
      assert.equal(claims.exp! - claims.iat!, 7200);
      const roles = await call<{ email: string }>(server.url, "GET", "/v2/roles", { token: res.body });
      assert.equal(roles.body.email, "reader@example.org");
    });

    it("answers 503 when no token key is configured", async () => {
      const keyless = await serve(serverApi, { googleCertsUrl: google.certsUrl, tokenSecret: "" });
      try {
        const res = await call<{ code: string }>(keyless.url, "POST", "/v2/server/token", {
          token: await google.sign({ email: "reader@example.org" }),
        });
        assert.equal(res.status, 503);
        assert.equal(res.body.code, "unavailable");
      } finally {
        await keyless.close();
      }
    });

    it("permission matrix", async () => {
      await checkMatrix(
        server,
        tokens,
        { method: "POST", path: "/v2/server/token" },
        {
          anonymous: 401,
          unknown: 200,
          reader: 200,
          writer: 200,
          datasetAdmin: 200,
          admin: 200,
          disabled: 403,
        },
      );
    });
  });

  describe("POST /v2/server/revoke", () => {
    it("invalidates earlier tokens, keeps later ones working", async () => {
      const old = await apiToken("reader@example.org");
      assert.equal((await call(server.url, "GET", "/v2/roles", { token: old })).status, 200);
      const res = await call<{ email: string; generation: number }>(server.url, "POST", "/v2/server/revoke", {
        token: old,
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { email: "reader@example.org", generation: 1 });
      const after = await call<{ detail: string }>(server.url, "GET", "/v2/roles", { token: old });
      assert.equal(after.status, 401);
      const fresh = await call<string>(server.url, "POST", "/v2/server/token", {
        token: await google.sign({ email: "reader@example.org" }),
      });
      assert.equal((await call(server.url, "GET", "/v2/roles", { token: fresh.body })).status, 200);
    });

    it("lets admins revoke anyone and nobody else revoke others", async () => {
      const readerToken = await apiToken("reader@example.org");
      const denied = await call(server.url, "POST", "/v2/server/revoke", {
        token: tokens.writer,
        body: { email: "reader@example.org" },
      });
      assert.equal(denied.status, 403);
      assert.equal((await call(server.url, "GET", "/v2/roles", { token: readerToken })).status, 200);
      const ok = await call(server.url, "POST", "/v2/server/revoke", {
        token: tokens.admin,
        body: { email: "Reader@example.org" },
      });
      assert.equal(ok.status, 200);
      assert.equal((await call(server.url, "GET", "/v2/roles", { token: readerToken })).status, 401);
      const bad = await call(server.url, "POST", "/v2/server/revoke", {
        token: tokens.admin,
        body: { email: "not-an-email" },
      });
      assert.equal(bad.status, 400);
      const extra = await call(server.url, "POST", "/v2/server/revoke", {
        token: tokens.admin,
        body: { email: "a@b.org", x: 1 },
      });
      assert.equal(extra.status, 400);
      assert.equal(
        (await firestore().collection("neurofire_token_state").doc("a@b.org").get()).exists,
        false,
      );
    });

    it("permission matrix (revoking one's own tokens)", async () => {
      await checkMatrix(
        server,
        tokens,
        { method: "POST", path: "/v2/server/revoke" },
        {
          anonymous: 401,
          unknown: 200,
          reader: 200,
          writer: 200,
          datasetAdmin: 200,
          admin: 200,
          disabled: 403,
        },
      );
    });
  });

  describe("POST /v2/server/refresh-caches", () => {
    it("makes a role change written behind the instance's back visible at once", async () => {
      const reader = await apiToken("reader@example.org");
      await call(server.url, "GET", "/v2/roles", { token: reader });
      await firestore()
        .collection("clio_users")
        .doc("reader@example.org")
        .set({ global_roles: ["clio_write"] });
      const stale = await call<{ global_roles: string[] }>(server.url, "GET", "/v2/roles", { token: reader });
      assert.deepEqual(stale.body.global_roles, [], "cached within the cache lifetime");
      assert.equal(
        (await call(server.url, "POST", "/v2/server/refresh-caches", { token: tokens.admin })).status,
        200,
      );
      const fresh = await call<{ global_roles: string[] }>(server.url, "GET", "/v2/roles", { token: reader });
      assert.deepEqual(fresh.body.global_roles, ["clio_write"]);
    });

    it("permission matrix", async () => {
      await checkMatrix(
        server,
        tokens,
        { method: "POST", path: "/v2/server/refresh-caches" },
        {
          anonymous: 401,
          unknown: 403,
          reader: 403,
          writer: 403,
          datasetAdmin: 403,
          admin: 200,
          disabled: 403,
        },
      );
    });
  });
});
