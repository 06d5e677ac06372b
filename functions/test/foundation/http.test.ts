import assert from "node:assert/strict";
import { z } from "zod";
import { datasetsApi } from "../../src/api/datasets.js";
import { docsApi } from "../../src/api/docs.js";
import { apiGroups } from "../../src/api/groups.js";
import { defineGroup, route } from "../../src/http/route.js";
import { allows, hasRole } from "../../src/auth/permissions.js";
import type { User } from "../../src/schemas/users.js";
import {
  call,
  personaTokens,
  seedPersonas,
  serve,
  type Persona,
  type TestServer,
} from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";

const failing = defineGroup({
  name: "failing",
  mounts: ["/v2/failing"],
  routes: [
    route({
      method: "get",
      path: "/",
      allow: "signedIn",
      summary: "throws an internal error",
      handler: () => Promise.reject(new Error("database password is hunter2")),
    }),
    route({
      method: "post",
      path: "/echo",
      allow: "signedIn",
      alsoPut: true,
      summary: "echoes a small body",
      body: z.strictObject({ n: z.number() }),
      response: z.strictObject({ n: z.number() }),
      handler: ({ body }) => Promise.resolve(body),
    }),
  ],
});

describe("HTTP plumbing", () => {
  let server: TestServer;
  let tokens: Record<Persona, string | undefined>;

  before(async () => {
    tokens = await personaTokens();
    server = await serve([datasetsApi, failing, docsApi(() => apiGroups)], {
      allowedOrigins: "https://clio.example.org, https://ng.example.org",
      urlPrefix: "/api",
      maxBodyBytes: 2000,
    });
  });
  after(() => server.close());
  beforeEach(async () => {
    await clearFirestore();
    await seedPersonas();
  });

  it("serves under URL_PREFIX and tolerates trailing slashes", async () => {
    assert.equal((await call(server.url, "GET", "/api/v2/datasets", { token: tokens.admin })).status, 200);
    assert.equal((await call(server.url, "GET", "/api/v2/datasets/", { token: tokens.admin })).status, 200);
    assert.equal(
      (await call(server.url, "GET", "/api/v2/datasets/private-ds/", { token: tokens.admin })).status,
      200,
    );
    const unprefixed = await call<{ code: string }>(server.url, "GET", "/v2/datasets", {
      token: tokens.admin,
    });
    assert.equal(unprefixed.status, 404);
    assert.equal(unprefixed.body.code, "not_found");
    assert.equal((await call(server.url, "GET", "/api/healthz")).status, 200);
  });

  it("reflects allowed origins only, answers preflight with PUT and the Range header", async () => {
    const allowed = await fetch(`${server.url}/api/v2/datasets`, {
      method: "OPTIONS",
      headers: { origin: "https://ng.example.org", "access-control-request-method": "PUT" },
    });
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get("access-control-allow-origin"), "https://ng.example.org");
    assert.match(allowed.headers.get("access-control-allow-methods")!, /PUT/);
    assert.match(allowed.headers.get("access-control-allow-headers")!, /Authorization, Content-Type, Range/);
    assert.match(allowed.headers.get("vary")!, /Origin/);
    const denied = await fetch(`${server.url}/api/v2/datasets`, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example.org" },
    });
    assert.equal(denied.headers.get("access-control-allow-origin"), null);
    const get = await call(server.url, "GET", "/api/v2/datasets", {
      token: tokens.admin,
      headers: { origin: "https://clio.example.org" },
    });
    assert.equal(get.headers.get("access-control-allow-origin"), "https://clio.example.org");
    assert.match(get.headers.get("access-control-expose-headers")!, /X-Next-Cursor/);
  });

  it("treats PUT as POST where declared, and limits body size with 413", async () => {
    assert.deepEqual(
      (await call(server.url, "PUT", "/api/v2/failing/echo", { token: tokens.reader, body: { n: 1 } })).body,
      { n: 1 },
    );
    const big = await call<{ code: string }>(server.url, "POST", "/api/v2/failing/echo", {
      token: tokens.reader,
      body: { n: 1, pad: "x".repeat(5000) },
    });
    assert.equal(big.status, 413);
    assert.equal(big.body.code, "payload_too_large");
  });

  it("answers internal errors with a request id and nothing internal", async () => {
    const res = await call<{ detail: string; code: string }>(server.url, "GET", "/api/v2/failing", {
      token: tokens.reader,
    });
    assert.equal(res.status, 500);
    assert.equal(res.body.code, "internal");
    assert.ok(!res.text.includes("hunter2"));
    assert.ok(!res.text.includes("at "), "no stack trace");
    const requestId = res.headers.get("x-request-id")!;
    assert.ok(res.body.detail.includes(requestId));
    const logged = server.logs.find((l) => l.level === "error" && l.fields.requestId === requestId);
    assert.ok(logged, "the failure is logged with its request id");
  });

  it("documents every route in OpenAPI and serves a docs page", async () => {
    const spec = await call<{ paths: Record<string, Record<string, { parameters: { name: string }[] }>> }>(
      server.url,
      "GET",
      "/api/v2/openapi.json",
    );
    assert.equal(spec.status, 200);
    for (const p of [
      "/api/v2/datasets",
      "/api/v2/datasets/{dataset}",
      "/api/v2/roles",
      "/api/v2/users",
      "/api/v2/server/token",
    ]) {
      assert.ok(spec.body.paths[p], `${p} is documented`);
    }
    assert.ok(spec.body.paths["/api/v2/datasets"]!.put, "PUT = POST is documented");
    assert.deepEqual(spec.body.paths["/api/v2/datasets"]!.get!.parameters.map((p) => p.name).sort(), [
      "cursor",
      "limit",
      "templates",
    ]);
    const page = await fetch(`${server.url}/api/v2/docs`);
    assert.match(await page.text(), /SwaggerUIBundle/);
    assert.equal((await fetch(`${server.url}/api/v2/docs/assets/swagger-ui.css`)).status, 200);
    assert.equal((await fetch(`${server.url}/api/v2/docs/assets/..%2F..%2Fpackage.json`)).status, 404);
  });
});

describe("permission predicates", () => {
  const user = (over: Partial<User>): User => ({
    email: "u@x.org",
    name: null,
    org: null,
    disabled: false,
    global_roles: [],
    datasets: {},
    groups: [],
    ...over,
  });

  it("follow the role ladder, public datasets and global admin", () => {
    const reader = user({ datasets: { ds: ["clio_read"] } });
    assert.ok(allows(reader, "can_read", "ds"));
    assert.ok(!allows(reader, "can_write_own", "ds"));
    const writer = user({ datasets: { ds: ["clio_write"] } });
    assert.ok(allows(writer, "can_write_others", "ds") && allows(writer, "can_read", "ds"));
    assert.ok(hasRole(writer, "clio_general", "ds"), "clio_write implies clio_general");
    assert.ok(!allows(writer, "can_read", "other"));
    const nobody = user({});
    assert.ok(allows(nobody, "can_write_own", "pub", true));
    assert.ok(!allows(nobody, "can_write_others", "pub", true));
    const admin = user({ global_roles: ["admin"] });
    assert.ok(
      allows(admin, "can_write_others", "any") &&
        allows(admin, "is_dataset_admin", "any") &&
        allows(admin, "is_admin"),
    );
    assert.ok(!allows(user({ global_roles: ["admin"], disabled: true }), "can_read", "pub", true));
    const globalGeneral = user({ global_roles: ["clio_general"] });
    assert.ok(
      allows(globalGeneral, "can_write_own", "any") && !allows(globalGeneral, "can_write_others", "any"),
    );
    assert.ok(hasRole(user({ datasets: { ds: ["mergeable"] } }), "mergeable", "ds"));
    assert.ok(!hasRole(user({ datasets: { ds: ["mergeable"] } }), "mergeable", "other"));
    // Dataset ids that are also Object.prototype names are ordinary names.
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      assert.equal(allows(nobody, "can_read", name), false);
      assert.equal(hasRole(nobody, "clio_general", name), false);
    }
  });
});
