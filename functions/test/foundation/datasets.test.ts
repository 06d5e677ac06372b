import assert from "node:assert/strict";
import { datasetsApi } from "../../src/api/datasets.js";
import { compareVersions } from "../../src/services/datasets.js";
import { firestore } from "../../src/store/firebase.js";
import { checkMatrix } from "../helpers/matrix.js";
import {
  call,
  personaTokens,
  PRIVATE_DS,
  PUBLIC_DS,
  resetToSeed,
  serve,
  type Persona,
  type TestServer,
} from "../helpers/server.js";

describe("datasets", () => {
  let server: TestServer;
  let tokens: Record<Persona, string | undefined>;

  before(async () => {
    server = await serve(datasetsApi);
    tokens = await personaTokens();
  });
  after(() => server.close());
  beforeEach(async () => {
    await resetToSeed(server);
  });

  describe("GET /v2/datasets", () => {
    it("lists what each persona can read, templated", async () => {
      await firestore()
        .collection("clio_datasets")
        .doc(PRIVATE_DS)
        .set({
          description: "private",
          tag: "v1.2",
          uuid: "abc123",
          location: "precomputed://gs://bucket/{tag}/grayscale",
          neuroglancer: { layers: [{ name: "seg-{uuid}", source: { url: "dvid://host/{uuid}/seg" } }] },
        });
      server.deps.datasets.invalidate();
      const asAdmin = await call<Record<string, Record<string, unknown>>>(server.url, "GET", "/v2/datasets", {
        token: tokens.admin,
      });
      assert.equal(asAdmin.status, 200);
      assert.deepEqual(Object.keys(asAdmin.body).sort(), [PRIVATE_DS, PUBLIC_DS]);
      assert.equal(asAdmin.body[PRIVATE_DS]!.location, "precomputed://gs://bucket/v1.2/grayscale");
      assert.deepEqual(asAdmin.body[PRIVATE_DS]!.neuroglancer, {
        layers: [{ name: "seg-abc123", source: { url: "dvid://host/abc123/seg" } }],
      });

      const raw = await call<Record<string, Record<string, unknown>>>(
        server.url,
        "GET",
        "/v2/datasets?templates=true",
        {
          token: tokens.admin,
        },
      );
      assert.equal(raw.body[PRIVATE_DS]!.location, "precomputed://gs://bucket/{tag}/grayscale");

      const asStranger = await call<Record<string, unknown>>(server.url, "GET", "/v2/datasets", {
        token: tokens.unknown,
      });
      assert.deepEqual(Object.keys(asStranger.body), [PUBLIC_DS]);
      const asReader = await call<Record<string, unknown>>(server.url, "GET", "/v2/datasets/", {
        token: tokens.reader,
      });
      assert.deepEqual(Object.keys(asReader.body).sort(), [PRIVATE_DS, PUBLIC_DS]);
    });

    it("pages with limit and an opaque cursor", async () => {
      const batch = firestore().batch();
      for (let i = 0; i < 7; i++)
        batch.set(firestore().collection("clio_datasets").doc(`ds${i}`), {
          description: `d${i}`,
          public: true,
        });
      await batch.commit();
      server.deps.datasets.invalidate();
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
        const res = await call<Record<string, unknown>>(server.url, "GET", `/v2/datasets?limit=3${q}`, {
          token: tokens.unknown,
        });
        assert.equal(res.status, 200);
        seen.push(...Object.keys(res.body));
        cursor = res.headers.get("x-next-cursor");
        pages += 1;
      } while (cursor);
      assert.equal(pages, 3);
      assert.deepEqual(seen, ["ds0", "ds1", "ds2", "ds3", "ds4", "ds5", "ds6", PUBLIC_DS]);
      const bad = await call<{ code: string }>(server.url, "GET", "/v2/datasets?cursor=garbage", {
        token: tokens.admin,
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.code, "invalid_argument");
    });

    it("permission matrix", async () => {
      await checkMatrix(
        server,
        tokens,
        { method: "GET", path: "/v2/datasets" },
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

  describe("GET /v2/datasets/{id}", () => {
    it("returns the dataset, 403 without access and 404 when missing, never null", async () => {
      const ok = await call<Record<string, unknown>>(server.url, "GET", `/v2/datasets/${PRIVATE_DS}`, {
        token: tokens.reader,
      });
      assert.equal(ok.status, 200);
      assert.equal(ok.body.description, "a private dataset");
      const denied = await call<{ code: string; detail: string }>(
        server.url,
        "GET",
        `/v2/datasets/${PRIVATE_DS}`,
        {
          token: tokens.unknown,
        },
      );
      assert.equal(denied.status, 403);
      assert.equal(denied.body.code, "permission_denied");
      const missing = await call<{ code: string }>(server.url, "GET", "/v2/datasets/nope", {
        token: tokens.admin,
      });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.code, "not_found");
      const bad = await call(server.url, "GET", "/v2/datasets/bad%2Fid", { token: tokens.admin });
      assert.equal(bad.status, 400);
    });

    it("permission matrix on the private and the public dataset", async () => {
      await checkMatrix(
        server,
        tokens,
        { method: "GET", path: `/v2/datasets/${PRIVATE_DS}` },
        {
          anonymous: 401,
          unknown: 403,
          reader: 200,
          writer: 200,
          datasetAdmin: 200,
          admin: 200,
          disabled: 403,
        },
      );
      await checkMatrix(
        server,
        tokens,
        { method: "GET", path: `/v2/datasets/${PUBLIC_DS}` },
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

  describe("POST /v2/datasets", () => {
    it("creates a dataset and keeps fields clio's model dropped", async () => {
      const body = {
        newds: {
          description: "new",
          tag: "v0.1",
          transfer: ["model-a"],
          roles: { segmentation: ["mergeable"] },
          navHide: true,
          source: "gs://x",
          customField: { nested: 1 },
        },
      };
      const res = await call(server.url, "POST", "/v2/datasets", { token: tokens.admin, body });
      assert.equal(res.status, 200);
      const stored = (await firestore().collection("clio_datasets").doc("newds").get()).data();
      assert.deepEqual(stored, body.newds);
      const read = await call<Record<string, unknown>>(server.url, "GET", "/v2/datasets/newds", {
        token: tokens.admin,
      });
      assert.deepEqual(read.body.transfer, ["model-a"]);
    });

    it("compares tags as versions: v0.10 replaces v0.9, v0.9 does not replace v0.10", async () => {
      assert.ok(compareVersions("v0.10", "v0.9") > 0);
      const put = (tag: string) =>
        call(server.url, "PUT", "/v2/datasets", {
          token: tokens.admin,
          body: { [PRIVATE_DS]: { description: "x", tag } },
        });
      assert.equal((await put("v1.10")).status, 200);
      const older = await put("v1.9");
      assert.equal(older.status, 409);
      const stored = (await firestore().collection("clio_datasets").doc(PRIVATE_DS).get()).data();
      assert.equal(stored?.tag, "v1.10");
    });

    it("lets a dataset admin update their dataset but not create one", async () => {
      const update = await call(server.url, "POST", "/v2/datasets", {
        token: tokens.datasetAdmin,
        body: { [PRIVATE_DS]: { description: "updated by dsadmin", tag: "v1.3" } },
      });
      assert.equal(update.status, 200);
      const create = await call(server.url, "POST", "/v2/datasets", {
        token: tokens.datasetAdmin,
        body: { other: { description: "no" } },
      });
      assert.equal(create.status, 403);
      assert.equal((await firestore().collection("clio_datasets").doc("other").get()).exists, false);
    });

    it("keeps storage, proxy and visibility fields for global admins", async () => {
      const attempts = [
        { files: { bucket: "other-bucket", prefix: "" } },
        { neuprintHTTP: { server: "evil.example.org", dataset: "x" } },
        { public: true },
        { transfer: ["some-model"] },
        { location: "precomputed://gs://elsewhere" },
      ];
      for (const extra of attempts) {
        const res = await call<{ code: string; detail: string }>(server.url, "POST", "/v2/datasets", {
          token: tokens.datasetAdmin,
          body: { [PRIVATE_DS]: { description: "a private dataset", tag: "v1.2", uuid: "abc123", ...extra } },
        });
        assert.equal(res.status, 403, JSON.stringify(extra));
        assert.match(res.body.detail, new RegExp(`Only admins can change ${Object.keys(extra)[0]}`));
      }
      const stored = (await firestore().collection("clio_datasets").doc(PRIVATE_DS).get()).data();
      assert.deepEqual(stored, { description: "a private dataset", tag: "v1.2", uuid: "abc123" });
      const asAdmin = await call(server.url, "POST", "/v2/datasets", {
        token: tokens.admin,
        body: { [PRIVATE_DS]: { description: "x", files: { prefix: "private-ds/" }, public: true } },
      });
      assert.equal(asAdmin.status, 200);
    });

    it("refuses bad bodies with a message and writes nothing", async () => {
      const cases: unknown[] = [
        { [PRIVATE_DS]: { tag: "v9" } }, // description missing
        { "bad/id": { description: "x" } },
        { [PRIVATE_DS]: { description: 5 } },
        [],
        "text",
        {},
      ];
      for (const body of cases) {
        const res = await call<{ detail: string; code: string }>(server.url, "POST", "/v2/datasets", {
          token: tokens.admin,
          body,
        });
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(res.body.code, "invalid_argument");
        assert.ok(res.body.detail.length > 0);
      }
      const malformed = await call<{ detail: string }>(server.url, "POST", "/v2/datasets", {
        token: tokens.admin,
        body: "{not json",
        headers: { "content-type": "application/json" },
      });
      assert.equal(malformed.status, 400);
      const stored = (await firestore().collection("clio_datasets").doc(PRIVATE_DS).get()).data();
      assert.equal(stored?.tag, "v1.2");
    });

    it("permission matrix", async () => {
      await checkMatrix(
        server,
        tokens,
        { method: "POST", path: "/v2/datasets", body: { [PRIVATE_DS]: { description: "m", tag: "v2" } } },
        {
          anonymous: 401,
          unknown: 403,
          reader: 403,
          writer: 403,
          datasetAdmin: 200,
          admin: 200,
          disabled: 403,
        },
      );
      await checkMatrix(
        server,
        tokens,
        { method: "POST", path: "/v2/datasets", body: { brandnew: { description: "m" } } },
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

  describe("DELETE /v2/datasets", () => {
    it("deletes for admins and stops serving the dataset at once", async () => {
      assert.equal(
        (await call(server.url, "GET", `/v2/datasets/${PUBLIC_DS}`, { token: tokens.unknown })).status,
        200,
      );
      const res = await call(server.url, "DELETE", "/v2/datasets", {
        token: tokens.admin,
        body: [PUBLIC_DS],
      });
      assert.equal(res.status, 200);
      // No longer public: a stranger is stopped at the gate (403, as for any dataset they cannot
      // read, so ids cannot be probed), and an admin learns it is gone.
      assert.equal(
        (await call(server.url, "GET", `/v2/datasets/${PUBLIC_DS}`, { token: tokens.unknown })).status,
        403,
      );
      assert.equal(
        (await call(server.url, "GET", `/v2/datasets/${PUBLIC_DS}`, { token: tokens.admin })).status,
        404,
      );
      const bad = await call(server.url, "DELETE", "/v2/datasets", {
        token: tokens.admin,
        body: { not: "a list" },
      });
      assert.equal(bad.status, 400);
    });

    it("permission matrix", async () => {
      await checkMatrix(
        server,
        tokens,
        { method: "DELETE", path: "/v2/datasets", body: [PUBLIC_DS] },
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
