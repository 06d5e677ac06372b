import assert from "node:assert/strict";
import { encodeCursor } from "../../src/http/paging.js";
import { rolesApi } from "../../src/api/roles.js";
import { usersApi } from "../../src/api/users.js";
import { firestore } from "../../src/store/firebase.js";
import { checkMatrix } from "../helpers/matrix.js";
import {
  call,
  personaTokens,
  PRIVATE_DS,
  seedPersonas,
  serve,
  type Persona,
  type TestServer,
} from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";

const ALL_DENIED_BUT_ADMIN = {
  anonymous: 401,
  unknown: 403,
  reader: 403,
  writer: 403,
  datasetAdmin: 403,
  admin: 200,
  disabled: 403,
};

describe("users and roles", () => {
  let server: TestServer;
  let tokens: Record<Persona, string | undefined>;

  before(async () => {
    server = await serve([usersApi, rolesApi]);
    tokens = await personaTokens();
  });
  after(() => server.close());
  beforeEach(async () => {
    await clearFirestore();
    await seedPersonas();
    server.deps.users.invalidate();
  });

  describe("GET /v2/roles", () => {
    it("returns the caller in clio's shape", async () => {
      const res = await call(server.url, "GET", "/v2/roles", { token: tokens.reader });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, {
        email: "reader@example.org",
        name: null,
        org: null,
        disabled: false,
        global_roles: [],
        datasets: { [PRIVATE_DS]: ["clio_general"] },
        groups: ["team"],
        google_idinfo: null,
      });
      const stranger = await call<{ email: string; global_roles: string[] }>(
        server.url,
        "GET",
        "/v2/roles/",
        { token: tokens.unknown },
      );
      assert.equal(stranger.body.email, "stranger@example.org");
      assert.deepEqual(stranger.body.global_roles, []);
    });

    it("permission matrix", async () => {
      await checkMatrix(
        server,
        tokens,
        { method: "GET", path: "/v2/roles" },
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

  describe("GET /v2/users", () => {
    it("lists every user by email, streamed or paged", async () => {
      const all = await call<Record<string, { global_roles: string[] }>>(server.url, "GET", "/v2/users", {
        token: tokens.admin,
      });
      assert.equal(all.status, 200);
      assert.deepEqual(Object.keys(all.body).sort(), [
        "admin@example.org",
        "disabled@example.org",
        "dsadmin@example.org",
        "reader@example.org",
        "writer@example.org",
      ]);
      assert.deepEqual(all.body["admin@example.org"]!.global_roles, ["admin"]);
      const page = await call<Record<string, unknown>>(server.url, "GET", "/v2/users?limit=2", {
        token: tokens.admin,
      });
      assert.equal(Object.keys(page.body).length, 2);
      const next = page.headers.get("x-next-cursor");
      assert.ok(next);
      const page2 = await call<Record<string, unknown>>(
        server.url,
        "GET",
        `/v2/users?limit=2&cursor=${next}`,
        { token: tokens.admin },
      );
      assert.deepEqual(Object.keys(page2.body), ["dsadmin@example.org", "reader@example.org"]);
      assert.equal((await call(server.url, "GET", "/v2/users?limit=0", { token: tokens.admin })).status, 400);
      const forged = encodeCursor("clio_users/../x");
      assert.equal(
        (await call(server.url, "GET", `/v2/users?cursor=${forged}`, { token: tokens.admin })).status,
        400,
      );
      assert.equal(
        (await call(server.url, "GET", "/v2/users?limit=5000", { token: tokens.admin })).status,
        400,
      );
    });

    it("permission matrix", async () => {
      await checkMatrix(server, tokens, { method: "GET", path: "/v2/users" }, ALL_DENIED_BUT_ADMIN);
    });
  });

  describe("POST /v2/users", () => {
    it("updates roles without erasing groups, name, org or disabled", async () => {
      await firestore()
        .collection("clio_users")
        .doc("reader@example.org")
        .set({
          datasets: { [PRIVATE_DS]: ["clio_general"] },
          groups: ["team", "lab"],
          name: "Reed",
          org: "Lab",
          disabled: false,
        });
      const res = await call(server.url, "PUT", "/v2/users", {
        token: tokens.admin,
        body: {
          "Reader@Example.org": {
            global_roles: ["clio_general"],
            datasets: { [PRIVATE_DS]: ["clio_write"] },
          },
        },
      });
      assert.equal(res.status, 200);
      const doc = (await firestore().collection("clio_users").doc("reader@example.org").get()).data();
      assert.deepEqual(doc, {
        global_roles: ["clio_general"],
        datasets: { [PRIVATE_DS]: ["clio_write"] },
        groups: ["team", "lab"],
        name: "Reed",
        org: "Lab",
        disabled: false,
      });
      const roles = await call<{ datasets: Record<string, string[]> }>(server.url, "GET", "/v2/roles", {
        token: tokens.reader,
      });
      assert.deepEqual(
        roles.body.datasets,
        { [PRIVATE_DS]: ["clio_write"] },
        "this instance sees its own write at once",
      );
    });

    it("creates users, sets groups and disables", async () => {
      await call(server.url, "POST", "/v2/users", {
        token: tokens.admin,
        body: {
          "new@example.org": { global_roles: [], groups: ["lab"] },
          "writer@example.org": { disabled: true },
        },
      });
      assert.deepEqual((await firestore().collection("clio_users").doc("new@example.org").get()).data(), {
        global_roles: [],
        groups: ["lab"],
      });
      assert.equal((await call(server.url, "GET", "/v2/roles", { token: tokens.writer })).status, 403);
      assert.deepEqual(await server.deps.users.membersOf(["lab", "team"]), [
        "new@example.org",
        "reader@example.org",
        "writer@example.org",
      ]);
    });

    it("refuses bad bodies and writes nothing", async () => {
      const before = (await firestore().collection("clio_users").get()).docs.map((d) => [d.id, d.data()]);
      const bodies = [
        { "not-an-email": { global_roles: [] } },
        { "a@b.org": { global_roles: "admin" } },
        { "a@b.org": { global_roles: ["ad min"] } },
        { "a@b.org": { unknown: 1 } },
        ["a@b.org"],
        {},
      ];
      for (const body of bodies) {
        const res = await call<{ code: string; detail: string }>(server.url, "POST", "/v2/users", {
          token: tokens.admin,
          body,
        });
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(res.body.code, "invalid_argument");
      }
      const after = (await firestore().collection("clio_users").get()).docs.map((d) => [d.id, d.data()]);
      assert.deepEqual(after, before);
    });

    it("permission matrix", async () => {
      await checkMatrix(
        server,
        tokens,
        { method: "POST", path: "/v2/users", body: { "x@example.org": { global_roles: ["clio_general"] } } },
        ALL_DENIED_BUT_ADMIN,
      );
    });
  });

  describe("DELETE /v2/users", () => {
    it("deletes users, who then have no roles", async () => {
      const res = await call(server.url, "DELETE", "/v2/users", {
        token: tokens.admin,
        body: ["reader@example.org"],
      });
      assert.equal(res.status, 200);
      assert.equal(
        (await firestore().collection("clio_users").doc("reader@example.org").get()).exists,
        false,
      );
      const roles = await call<{ datasets: object }>(server.url, "GET", "/v2/roles", {
        token: tokens.reader,
      });
      assert.deepEqual(roles.body.datasets, {});
      assert.equal(
        (await call(server.url, "DELETE", "/v2/users", { token: tokens.admin, body: "reader@example.org" }))
          .status,
        400,
      );
    });

    it("permission matrix", async () => {
      await checkMatrix(
        server,
        tokens,
        { method: "DELETE", path: "/v2/users", body: ["reader@example.org"] },
        ALL_DENIED_BUT_ADMIN,
      );
    });
  });
});
