import assert from "node:assert/strict";
import { SignJWT, importSPKI } from "jose";
import { rolesApi } from "../../src/api/roles.js";
import { serverApi } from "../../src/api/server.js";
import { startGoogleCertsServer, type GoogleCertsServer } from "../../loopback/google-certs.js";
import { apiToken, call, seedPersonas, serve, TEST_SECRET, type TestServer } from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";

function unsigned(payload: Record<string, unknown>, alg = "none"): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${enc({ alg, typ: "JWT" })}.${enc(payload)}.`;
}

describe("authentication", () => {
  let google: GoogleCertsServer;
  let server: TestServer;
  const now = () => Math.floor(Date.now() / 1000);

  before(async () => {
    google = await startGoogleCertsServer();
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
    server.deps.tokenState.forget();
  });

  const roles = (token?: string) =>
    call<{ email: string; detail?: string }>(server.url, "GET", "/v2/roles", { token });

  it("accepts an API token, a Google ID token and refuses a missing one", async () => {
    assert.equal((await roles(await apiToken("Reader@Example.org"))).body.email, "reader@example.org");
    const g = await google.sign({ email: "Writer@Example.org" });
    const res = await call<{ email: string; google_idinfo: Record<string, unknown> }>(
      server.url,
      "GET",
      "/v2/roles",
      { token: g },
    );
    assert.equal(res.status, 200);
    assert.equal(res.body.email, "writer@example.org");
    assert.equal(res.body.google_idinfo.iss, "https://accounts.google.com");
    const missing = await roles();
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get("www-authenticate"), "Bearer");
  });

  it("caches Google certificates and verified tokens", async () => {
    const before = google.fetches();
    const g = await google.sign({ email: "reader@example.org" });
    for (let i = 0; i < 5; i++) assert.equal((await roles(g)).status, 200);
    const g2 = await google.sign({ email: "writer@example.org" });
    assert.equal((await roles(g2)).status, 200);
    assert.ok(google.fetches() - before <= 1, `certificates fetched ${google.fetches() - before} times`);
  });

  describe("token attacks all get 401", () => {
    const cases: [string, () => Promise<string>][] = [
      ["expired API token", () => apiToken("admin@example.org", { expiresIn: -60 })],
      ["API token with the wrong issuer", () => apiToken("admin@example.org", { issuer: "someone-else" })],
      ["API token signed with another key", () => apiToken("admin@example.org", { secret: "x".repeat(40) })],
      [
        "API token with its signature removed",
        async () => (await apiToken("admin@example.org")).split(".").slice(0, 2).join(".") + ".",
      ],
      [
        "API token with a tampered payload",
        async () => {
          const [h, , s] = (await apiToken("reader@example.org")).split(".");
          const payload = Buffer.from(
            JSON.stringify({ email: "admin@example.org", iss: "flyem-clio-store", exp: now() + 600 }),
          ).toString("base64url");
          return `${h}.${payload}.${s}`;
        },
      ],
      [
        "alg none with clio's issuer",
        () =>
          Promise.resolve(
            unsigned({ email: "admin@example.org", iss: "flyem-clio-store", exp: now() + 600 }),
          ),
      ],
      [
        "alg none with Google's issuer",
        () =>
          Promise.resolve(
            unsigned({
              email: "admin@example.org",
              email_verified: true,
              iss: "https://accounts.google.com",
              exp: now() + 600,
            }),
          ),
      ],
      [
        "RS256 Google token re-signed as HS256 with Google's public key",
        async () => {
          const key = new TextEncoder().encode(google.publicPem);
          return new SignJWT({ email: "admin@example.org", email_verified: true })
            .setProtectedHeader({ alg: "HS256", kid: "loopback-google-key" })
            .setIssuer("https://accounts.google.com")
            .setAudience("x")
            .setIssuedAt()
            .setExpirationTime(now() + 600)
            .sign(key);
        },
      ],
      [
        "expired Google token",
        () => google.sign({ email: "admin@example.org", iat: now() - 7200, exp: now() - 3600 }),
      ],
      [
        "Google token with a wrong issuer",
        () => google.sign({ email: "admin@example.org", iss: "https://evil.example.org" }),
      ],
      [
        "Google token signed by an unknown key",
        async () => google.sign({ email: "admin@example.org" }, { key: await google.strangerKey() }),
      ],
      [
        "Google token with an unknown key id",
        () => google.sign({ email: "admin@example.org" }, { kid: "nope" }),
      ],
      [
        "Google token whose email is unverified",
        () => google.sign({ email: "admin@example.org", email_verified: false }),
      ],
      ["API token whose email is a Firestore path", () => apiToken("x/../clio_users/admin@example.org")],
      ["Google token whose email is not an address", () => google.sign({ email: "admin" })],
      ["garbage", () => Promise.resolve("not.a.jwt")],
      ["a huge header", () => Promise.resolve("a".repeat(10_000))],
    ];
    for (const [name, make] of cases) {
      it(name, async () => {
        const res = await roles(await make());
        assert.equal(res.status, 401, JSON.stringify(res.body));
        assert.equal((res.body as unknown as { code: string }).code, "unauthenticated");
      });
    }

    it("an RS256-signed token claiming clio's issuer", async () => {
      const key = await importSPKI(google.publicPem, "RS256");
      assert.ok(key);
      const token = await google.sign({ email: "admin@example.org", iss: "flyem-clio-store" });
      assert.equal((await roles(token)).status, 401);
    });
  });

  it("refuses Google tokens for an audience outside the allow-list", async () => {
    const strict = await serve(rolesApi, {
      googleCertsUrl: google.certsUrl,
      googleAudiences: "client-a.apps.googleusercontent.com",
    });
    try {
      const ok = await google.sign({
        email: "reader@example.org",
        aud: "client-a.apps.googleusercontent.com",
      });
      assert.equal((await call(strict.url, "GET", "/v2/roles", { token: ok })).status, 200);
      const other = await google.sign({
        email: "reader@example.org",
        aud: "client-b.apps.googleusercontent.com",
      });
      assert.equal((await call(strict.url, "GET", "/v2/roles", { token: other })).status, 401);
    } finally {
      await strict.close();
    }
  });

  it("answers 503, not 401, when Google's certificates cannot be fetched", async () => {
    const offline = await serve(rolesApi, { googleCertsUrl: "http://127.0.0.1:9/oauth2/v1/certs" });
    try {
      const res = await call<{ code: string }>(offline.url, "GET", "/v2/roles", {
        token: await google.sign({ email: "reader@example.org" }),
      });
      assert.equal(res.status, 503);
      assert.equal(res.body.code, "unavailable");
    } finally {
      await offline.close();
    }
  });

  it("answers 403 Inactive user for disabled users, whatever the token", async () => {
    const res = await roles(await apiToken("disabled@example.org"));
    assert.equal(res.status, 403);
    assert.equal(res.body.detail, "Inactive user");
    assert.equal((await roles(await google.sign({ email: "disabled@example.org" }))).status, 403);
  });

  it("makes the OWNER an admin even without a user document", async () => {
    const res = await call<{ global_roles: string[] }>(server.url, "GET", "/v2/roles", {
      token: await apiToken("owner@example.org"),
    });
    assert.deepEqual(res.body.global_roles, ["admin"]);
  });

  it("never logs a token", async () => {
    const token = await apiToken("reader@example.org");
    await roles(token);
    await roles("garbage-token-value");
    const text = JSON.stringify(server.logs);
    assert.ok(!text.includes(token.split(".")[2]!));
    assert.ok(!text.includes("garbage-token-value"));
    assert.ok(!text.includes(TEST_SECRET));
  });
});
