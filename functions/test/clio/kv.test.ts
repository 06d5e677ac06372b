import assert from "node:assert/strict";
import { kvApi } from "../../src/api/kv.js";
import { pullRequestApi } from "../../src/api/pull-request.js";
import { siteReportsApi } from "../../src/api/site-reports.js";
import { savedSearchesApi } from "../../src/api/savedsearches.js";
import { SAVEDSEARCHES_PATH } from "../../src/services/savedsearches.js";
import { firestore } from "../../src/store/firebase.js";
import { checkMatrix } from "../helpers/matrix.js";
import {
  call,
  PERSONAS,
  personaTokens,
  PRIVATE_DS,
  PUBLIC_DS,
  resetToSeed,
  serve,
  type Persona,
  type TestServer,
} from "../helpers/server.js";
import { dump, seedDocs } from "./util.js";

const anyUser = {
  anonymous: 401,
  unknown: 200,
  reader: 200,
  writer: 200,
  datasetAdmin: 200,
  admin: 200,
  disabled: 403,
};
const detail = (body: unknown) => (body as { detail: string }).detail;

describe("kv, saved searches, pull requests, site reports", () => {
  let server: TestServer;
  let tokens: Record<Persona, string | undefined>;

  before(async () => {
    server = await serve([kvApi, savedSearchesApi, pullRequestApi, siteReportsApi]);
    tokens = await personaTokens();
  });
  after(() => server.close());
  beforeEach(async () => {
    await resetToSeed(server);
  });

  describe("/v2/kv", () => {
    const kv = (persona: Persona, method: string, path: string, body?: unknown) =>
      call<Record<string, unknown>>(server.url, method, `/v2/kv/${path}`, { token: tokens[persona], body });

    it("stores objects stamped with _timestamp, hidden unless asked for", async () => {
      const value = { "123": [456, 789], note: "merge" };
      const posted = await kv("reader", "POST", "merges-private-ds/mainToOthers", value);
      assert.equal(posted.status, 200);
      assert.equal(posted.body, null);
      assert.deepEqual((await kv("reader", "GET", "merges-private-ds/mainToOthers")).body, value);
      const stamped = await kv("reader", "GET", "merges-private-ds/mainToOthers?timestamp=true");
      assert.equal(typeof stamped.body._timestamp, "number");
      const stored = await firestore()
        .doc(`clio_keyvalue/${PERSONAS.reader}/merges-private-ds/mainToOthers`)
        .get();
      assert.deepEqual(stored.data(), stamped.body);
      await kv("reader", "PUT", "merges-private-ds/otherToMain", { array: [1, 2] });
      assert.deepEqual((await kv("reader", "GET", "merges-private-ds")).body, {
        mainToOthers: value,
        otherToMain: { array: [1, 2] },
      });
      // Private per user.
      assert.equal((await kv("writer", "GET", "merges-private-ds/mainToOthers")).status, 404);
      assert.deepEqual((await kv("writer", "GET", "merges-private-ds")).body, {});
    });

    it("serves values stored without _timestamp, 404s missing keys, deletes idempotently", async () => {
      await seedDocs({ [`clio_keyvalue/${PERSONAS.reader}/s/legacy`]: { a: 1 } });
      assert.deepEqual((await kv("reader", "GET", "s/legacy")).body, { a: 1 });
      const missing = await kv("reader", "GET", "s/nope");
      assert.equal(missing.status, 404);
      assert.match(detail(missing.body), /kv\/s\/nope/);
      assert.equal((await kv("reader", "DELETE", "s/legacy")).status, 200);
      assert.equal((await kv("reader", "DELETE", "s/legacy")).status, 200);
      assert.deepEqual(await dump("clio_keyvalue"), {});
    });

    it("pages a scope", async () => {
      for (let i = 0; i < 5; i++) await kv("reader", "POST", `s/k${i}`, { i });
      const first = await kv("reader", "GET", "s?limit=2");
      const cursor = first.headers.get("x-next-cursor");
      assert.deepEqual(first.body, { k0: { i: 0 }, k1: { i: 1 } });
      assert.deepEqual((await kv("reader", "GET", `s?limit=10&cursor=${cursor}`)).body, {
        k2: { i: 2 },
        k3: { i: 3 },
        k4: { i: 4 },
      });
    });

    it("refuses non-objects (400) and values over Firestore's document limit (413), writing nothing", async () => {
      for (const body of [[1, 2], "text", 42, null]) {
        const res = await kv("reader", "POST", "s/k", body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.ok(detail(res.body));
      }
      const big = await kv("reader", "POST", "s/k", { big: "x".repeat(1_048_600) });
      assert.equal(big.status, 413);
      assert.equal((big.body as { code: string }).code, "payload_too_large");
      assert.equal((await kv("reader", "POST", "s/__reserved__", { a: 1 })).status, 400);
      assert.deepEqual(await dump("clio_keyvalue"), {});
      assert.equal((await kv("reader", "POST", "s/k", { big: "x".repeat(1_048_400) })).status, 200);
    });

    it("permission matrix: any enabled signed-in user", async () => {
      await checkMatrix(server, tokens, { method: "POST", path: "/v2/kv/s/k", body: { a: 1 } }, anyUser);
      await checkMatrix(server, tokens, { method: "GET", path: "/v2/kv/s" }, anyUser);
    });
  });

  describe("/v2/savedsearches", () => {
    const path = (ds: string, q = "") => `/v2/savedsearches/${ds}${q}`;

    it("keeps one search per user and location, keyed x_y_z", async () => {
      await seedDocs({
        [`${SAVEDSEARCHES_PATH}/legacy1`]: {
          email: PERSONAS.reader,
          dataset: PRIVATE_DS,
          locationkey: "1_2_3",
          location: [1, 2, 3],
          timestamp: 1,
        },
        [`${SAVEDSEARCHES_PATH}/legacy2`]: {
          email: PERSONAS.reader,
          dataset: PRIVATE_DS,
          locationkey: "1_2_3",
          location: [1, 2, 3],
          timestamp: 2,
        },
      });
      const body = { note: "saved from clio image search" };
      for (let i = 0; i < 2; i++) {
        const res = await call(server.url, "POST", path(PRIVATE_DS, "?x=1&y=2&z=3"), {
          token: tokens.reader,
          body,
        });
        assert.equal(res.status, 200);
        assert.equal(res.body, null);
      }
      await call(server.url, "PUT", path(PRIVATE_DS, "?x=4&y=5&z=6"), { token: tokens.reader, body });
      await call(server.url, "POST", path(PRIVATE_DS, "?x=1&y=2&z=3"), { token: tokens.writer, body });
      const got = await call<Record<string, Record<string, unknown>>>(server.url, "GET", path(PRIVATE_DS), {
        token: tokens.reader,
      });
      assert.deepEqual(Object.keys(got.body).sort(), ["1_2_3", "4_5_6"]);
      const { timestamp, ...rest } = got.body["1_2_3"]!;
      assert.equal(typeof timestamp, "number");
      assert.deepEqual(rest, {
        ...body,
        dataset: PRIVATE_DS,
        location: [1, 2, 3],
        locationkey: "1_2_3",
        email: PERSONAS.reader,
        id: "legacy1",
      });
      assert.equal(Object.keys(await dump(SAVEDSEARCHES_PATH)).length, 3);

      await call(server.url, "DELETE", path(PRIVATE_DS, "?x=1&y=2&z=3"), { token: tokens.reader });
      const after = await call<Record<string, unknown>>(server.url, "GET", path(PRIVATE_DS), {
        token: tokens.reader,
      });
      assert.deepEqual(Object.keys(after.body), ["4_5_6"]);
      assert.equal(Object.keys(await dump(SAVEDSEARCHES_PATH)).length, 2);
    });

    it("20 concurrent saves at one location leave one search", async () => {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          call(server.url, "POST", path(PRIVATE_DS, "?x=1&y=1&z=1"), { token: tokens.reader, body: { i } }),
        ),
      );
      assert.equal(Object.keys(await dump(SAVEDSEARCHES_PATH)).length, 1);
    });

    it("refuses bad input with 400, writing nothing", async () => {
      for (const [q, body] of [
        ["?x=1&y=2", {}],
        ["?x=1&y=2&z=q", {}],
        ["?x=1&y=2&z=3", [1]],
      ] as const) {
        const res = await call(server.url, "POST", path(PRIVATE_DS, q), { token: tokens.reader, body });
        assert.equal(res.status, 400);
      }
      assert.deepEqual(await dump(SAVEDSEARCHES_PATH), {});
    });

    it("permission matrix (clio_write alone suffices; public datasets open to all)", async () => {
      const expected = {
        anonymous: 401,
        unknown: 403,
        reader: 200,
        writer: 200,
        datasetAdmin: 200,
        admin: 200,
        disabled: 403,
      };
      await checkMatrix(server, tokens, { method: "GET", path: path(PRIVATE_DS) }, expected);
      await checkMatrix(
        server,
        tokens,
        { method: "POST", path: path(PRIVATE_DS, "?x=1&y=2&z=3"), body: {} },
        expected,
      );
      await checkMatrix(
        server,
        tokens,
        { method: "DELETE", path: path(PRIVATE_DS, "?x=1&y=2&z=3") },
        expected,
      );
      await checkMatrix(
        server,
        tokens,
        { method: "POST", path: path(PUBLIC_DS, "?x=1&y=2&z=3"), body: {} },
        anyUser,
      );
    });
  });

  describe("/v2/pull-request", () => {
    const pr = (persona: Persona, method: string, q = "", body?: unknown) =>
      call<Record<string, unknown>>(server.url, method, `/v2/pull-request${q}`, {
        token: tokens[persona],
        body,
      });

    it("copies the kv value and lists pull requests as {email: {scope: {key: value}}}", async () => {
      await seedDocs({
        [`clio_keyvalue/${PERSONAS.reader}/merges-private-ds/mainToOthers`]: { "1": [2], _timestamp: 5 },
        [`clio_keyvalue/${PERSONAS.writer}/merges-public-ds/mainOrdered`]: { order: [3] },
      });
      assert.equal(
        (await pr("reader", "POST", "", { pull: "kv/merges-private-ds/mainToOthers" })).status,
        200,
      );
      assert.equal((await pr("writer", "POST", "", { pull: "kv/merges-public-ds/mainOrdered" })).status, 200);
      const mine = await pr("reader", "GET", "?user_email=");
      const value = (mine.body[PERSONAS.reader] as Record<string, Record<string, Record<string, unknown>>>)[
        "merges-private-ds"
      ]!.mainToOthers!;
      assert.deepEqual(Object.keys(mine.body), [PERSONAS.reader]);
      assert.deepEqual(value["1"], [2]);
      assert.ok((value._timestamp as number) > 5);
      assert.deepEqual(Object.keys((await pr("reader", "GET")).body), [PERSONAS.reader]);
      assert.deepEqual(Object.keys((await pr("admin", "GET", "?user_email=all")).body).sort(), [
        PERSONAS.reader,
        PERSONAS.writer,
      ]);
      assert.deepEqual(Object.keys((await pr("admin", "GET", `?user_email=${PERSONAS.writer}`)).body), [
        PERSONAS.writer,
      ]);
      const paged = await pr("admin", "GET", "?user_email=all&limit=1");
      assert.deepEqual(Object.keys(paged.body), [PERSONAS.reader]);
      assert.ok(paged.headers.get("x-next-cursor"));
      for (const bad of ["a/b/c/d", "not-an-email", "ALL "]) {
        const res = await pr("admin", "GET", `?user_email=${encodeURIComponent(bad)}`);
        assert.equal(res.status, 400, bad);
      }
    });

    it("refuses other paths (400) and missing kv values (404), writing nothing", async () => {
      for (const pull of ["annotations/x/y", "kv/only-scope", "kv/a/b/c", 7]) {
        assert.equal((await pr("reader", "POST", "", { pull })).status, 400, String(pull));
      }
      assert.equal((await pr("reader", "POST", "", { post: "kv/a/b" })).status, 400);
      assert.equal((await pr("reader", "POST", "", { pull: "kv/a/b" })).status, 404);
      assert.deepEqual(await dump("clio_pull_requests"), {});
    });

    it("permission matrix", async () => {
      const seed = () =>
        seedDocs(
          Object.fromEntries(
            Object.values(PERSONAS)
              .filter(Boolean)
              .map((e) => [`clio_keyvalue/${e}/s/k`, { a: 1 }]),
          ),
        );
      await checkMatrix(
        server,
        tokens,
        { method: "POST", path: "/v2/pull-request", body: { pull: "kv/s/k" } },
        anyUser,
        seed,
      );
      await checkMatrix(server, tokens, { method: "GET", path: "/v2/pull-request?user_email=" }, anyUser);
      const adminsOnly = {
        anonymous: 401,
        unknown: 403,
        reader: 403,
        writer: 403,
        datasetAdmin: 403,
        admin: 200,
        disabled: 403,
      };
      await checkMatrix(
        server,
        tokens,
        { method: "GET", path: "/v2/pull-request?user_email=all" },
        adminsOnly,
      );
      await checkMatrix(
        server,
        tokens,
        { method: "GET", path: `/v2/pull-request?user_email=${PERSONAS.writer}` },
        {
          ...adminsOnly,
          writer: 200,
        },
      );
    });
  });

  describe("/v2/site-reports", () => {
    it("keeps one report per user per UTC day; admins list them", async () => {
      const realNow = server.deps.now;
      try {
        const report = {
          projectUrl: "https://example.org/clio",
          defaultProd: false,
          defaultTest: false,
          user: PERSONAS.reader,
        };
        server.deps.now = () => new Date("2024-03-05T23:30:00Z");
        await call(server.url, "POST", "/v2/site-reports", {
          token: tokens.reader,
          body: { ...report, n: 1 },
        });
        await call(server.url, "POST", "/v2/site-reports", {
          token: tokens.reader,
          body: { ...report, n: 2 },
        });
        server.deps.now = () => new Date("2024-03-06T00:30:00Z");
        await call(server.url, "PUT", "/v2/site-reports", {
          token: tokens.reader,
          body: { ...report, n: 3 },
        });
        const list = await call<Record<string, unknown>>(server.url, "GET", "/v2/site-reports", {
          token: tokens.admin,
        });
        assert.deepEqual(list.body, {
          [`${PERSONAS.reader}-2024-03-05`]: { ...report, n: 2 },
          [`${PERSONAS.reader}-2024-03-06`]: { ...report, n: 3 },
        });
      } finally {
        server.deps.now = realNow;
      }
    });

    it("refuses non-objects (400) and oversized reports (413), writing nothing", async () => {
      assert.equal(
        (await call(server.url, "POST", "/v2/site-reports", { token: tokens.reader, body: [1] })).status,
        400,
      );
      const big = await call(server.url, "POST", "/v2/site-reports", {
        token: tokens.reader,
        body: { x: "y".repeat(1_100_000) },
      });
      assert.equal(big.status, 413);
      assert.deepEqual(await dump("clio_site_reports"), {});
    });

    it("permission matrix", async () => {
      await checkMatrix(
        server,
        tokens,
        { method: "POST", path: "/v2/site-reports", body: { a: 1 } },
        anyUser,
      );
      await checkMatrix(
        server,
        tokens,
        { method: "GET", path: "/v2/site-reports" },
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
