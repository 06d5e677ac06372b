import assert from "node:assert/strict";
import { atlasApi, atlasVerifyApi } from "../../src/api/atlas.js";
import { ATLAS_PATH } from "../../src/services/atlas.js";
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

type Point = Record<string, unknown> & { id: string; timestamp: number; verified: boolean };

const atlasDoc = (id: string) => `${ATLAS_PATH}/${id}`;
const point = (id: string, fields: Record<string, unknown>) => ({
  [atlasDoc(id)]: {
    title: `point ${id}`,
    timestamp: 1000.5,
    location: [1, 2, 3],
    locationkey: "1_2_3",
    id,
    ...fields,
  },
});

describe("atlas", () => {
  let server: TestServer;
  let tokens: Record<Persona, string | undefined>;

  before(async () => {
    server = await serve([atlasApi, atlasVerifyApi]);
    tokens = await personaTokens();
  });
  after(() => server.close());
  beforeEach(async () => {
    await resetToSeed(server);
  });

  const post = (persona: Persona, ds: string, q: string, body: unknown) =>
    call<Point>(server.url, "POST", `/v2/atlas/${ds}?${q}`, { token: tokens[persona], body });

  describe("POST /v2/atlas/{dataset}", () => {
    it("stores the point with clio's server fields and returns it", async () => {
      const body = {
        title: "weird point",
        description: "it is really strange",
        user: PERSONAS.reader,
        kind: "point",
        tags: [],
      };
      const res = await post("reader", PRIVATE_DS, "x=50&y=30&z=-5", body);
      assert.equal(res.status, 200);
      const { id, timestamp, ...rest } = res.body;
      assert.equal(typeof id, "string");
      assert.equal(typeof timestamp, "number");
      assert.deepEqual(rest, {
        ...body,
        verified: false,
        dataset: PRIVATE_DS,
        location: [50, 30, -5],
        locationkey: "50_30_-5",
      });
      const stored = await firestore().doc(atlasDoc(id)).get();
      assert.deepEqual(stored.data(), res.body);
    });

    it("PUT is the same as POST, and a second write at the location replaces the first", async () => {
      await call(server.url, "PUT", `/v2/atlas/${PRIVATE_DS}?x=1&y=2&z=3`, {
        token: tokens.reader,
        body: { title: "first", user: PERSONAS.reader },
      });
      const second = await post("reader", PRIVATE_DS, "x=1&y=2&z=3", {
        title: "second",
        user: PERSONAS.reader,
      });
      assert.equal(second.status, 200);
      const all = await dump(ATLAS_PATH);
      assert.deepEqual(
        Object.values(all).map((p) => (p as Point).title),
        ["second"],
      );
    });

    it("50 concurrent writes at one location leave one point", async () => {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          post("writer", PRIVATE_DS, "x=7&y=8&z=9", { title: `t${i}`, user: PERSONAS.writer }),
        ),
      );
      assert.deepEqual(
        results.map((r) => r.status),
        results.map(() => 200),
      );
      const stored = await firestore().collection(ATLAS_PATH).where("locationkey", "==", "7_8_9").get();
      assert.equal(stored.size, 1);
      assert.ok(results.some((r) => r.body.title === stored.docs[0]!.data().title));
    });

    it("updates a point clio created under an auto id and removes clio's duplicates", async () => {
      await seedDocs({
        ...point("legacyA", { user: PERSONAS.reader, dataset: PRIVATE_DS }),
        ...point("legacyB", { user: PERSONAS.reader, dataset: PRIVATE_DS }),
      });
      const res = await post("reader", PRIVATE_DS, "x=1&y=2&z=3", { title: "edited", user: PERSONAS.reader });
      assert.equal(res.body.id, "legacyA");
      assert.deepEqual(Object.keys(await dump(ATLAS_PATH)), [atlasDoc("legacyA")]);
    });

    it("only clio_write users verify, edit verified points, or write for others", async () => {
      await seedDocs(point("v1", { user: PERSONAS.reader, dataset: PRIVATE_DS, verified: true }));
      const before = await dump(ATLAS_PATH);
      const edit = await post("reader", PRIVATE_DS, "x=1&y=2&z=3", {
        title: "mine now",
        user: PERSONAS.reader,
      });
      assert.equal(edit.status, 403);
      const verify = await post("reader", PRIVATE_DS, "x=4&y=5&z=6", {
        title: "t",
        user: PERSONAS.reader,
        verified: true,
      });
      assert.equal(verify.status, 403);
      assert.match((verify.body as unknown as { detail: string }).detail, /clio_write/);
      const forOther = await post("reader", PRIVATE_DS, "x=4&y=5&z=6", { title: "t", user: PERSONAS.writer });
      assert.equal(forOther.status, 403);
      assert.deepEqual(await dump(ATLAS_PATH), before);
    });

    it("the website's toggle (re-posting the record with verified flipped) keeps the timestamp and records the verifier", async () => {
      await seedDocs(
        point("p", { user: PERSONAS.reader, dataset: PRIVATE_DS, verified: false, description: "d" }),
      );
      const record = (await firestore().doc(atlasDoc("p")).get()).data()!;
      const toggled = await post("writer", PRIVATE_DS, "x=1&y=2&z=3", { ...record, verified: true });
      assert.equal(toggled.status, 200);
      assert.equal(toggled.body.timestamp, 1000.5);
      assert.equal(toggled.body.verified, true);
      assert.equal(toggled.body.verified_by, PERSONAS.writer);
      assert.ok((toggled.body.verified_at as number) > 1000.5);
      assert.equal(toggled.body.user, PERSONAS.reader);

      const edited = await post("writer", PRIVATE_DS, "x=1&y=2&z=3", {
        ...record,
        description: "changed",
        verified: true,
      });
      assert.ok(edited.body.timestamp > 1000.5);
      assert.equal(edited.body.verified_at, toggled.body.verified_at);
    });

    it("refuses bad input with 400 and writes nothing", async () => {
      const cases: [string, unknown][] = [
        ["x=1&y=2&z=3", { user: PERSONAS.reader }],
        ["x=1&y=2&z=3", { title: "no user" }],
        ["x=1&y=2&z=3", [{ title: "t", user: PERSONAS.reader }]],
        ["x=1&y=2&z=3", { title: "t", user: PERSONAS.reader, verified: "yes" }],
        ["x=1&y=2", { title: "t", user: PERSONAS.reader }],
        ["x=1.5&y=2&z=3", { title: "t", user: PERSONAS.reader }],
        ["x=a&y=2&z=3", { title: "t", user: PERSONAS.reader }],
      ];
      for (const [q, body] of cases) {
        const res = await post("reader", PRIVATE_DS, q, body);
        assert.equal(res.status, 400, `${q} ${JSON.stringify(body)}`);
        assert.equal(typeof (res.body as unknown as { detail: string }).detail, "string");
      }
      const all = await post("admin", "all", "x=1&y=2&z=3", { title: "t", user: PERSONAS.admin });
      assert.equal(all.status, 400);
      assert.deepEqual(await dump(ATLAS_PATH), {});
    });

    it("permission matrix: own point in the private and the public dataset", async () => {
      const req = (ds: string) => (p: Persona) => ({
        method: "POST",
        path: `/v2/atlas/${ds}?x=1&y=2&z=3`,
        body: { title: "t", user: PERSONAS[p] ?? "nobody@example.org" },
      });
      await checkMatrix(server, tokens, req(PRIVATE_DS), {
        anonymous: 401,
        unknown: 403,
        reader: 200,
        writer: 200,
        datasetAdmin: 200,
        admin: 200,
        disabled: 403,
      });
      await checkMatrix(server, tokens, req(PUBLIC_DS), {
        anonymous: 401,
        unknown: 200,
        reader: 200,
        writer: 200,
        datasetAdmin: 200,
        admin: 200,
        disabled: 403,
      });
    });

    it("permission matrix: writing another user's point", async () => {
      await checkMatrix(
        server,
        tokens,
        {
          method: "POST",
          path: `/v2/atlas/${PRIVATE_DS}?x=1&y=2&z=3`,
          body: { title: "t", user: "someone@example.org" },
        },
        {
          anonymous: 401,
          unknown: 403,
          reader: 403,
          writer: 200,
          datasetAdmin: 200,
          admin: 200,
          disabled: 403,
        },
      );
    });
  });

  describe("GET /v2/atlas/{dataset}", () => {
    it("returns only the caller's points, keyed x_y_z, without writing", async () => {
      await seedDocs({
        ...point("mine", { user: PERSONAS.reader, dataset: PRIVATE_DS, verified: true }),
        ...point("legacy", {
          user: PERSONAS.reader,
          dataset: PRIVATE_DS,
          locationkey: "4_5_6",
          location: [4, 5, 6],
        }),
        ...point("theirs", { user: PERSONAS.writer, dataset: PRIVATE_DS, verified: true }),
        ...point("elsewhere", { user: PERSONAS.reader, dataset: PUBLIC_DS }),
      });
      const before = await dump(ATLAS_PATH);
      const res = await call<Record<string, Point>>(server.url, "GET", `/v2/atlas/${PRIVATE_DS}`, {
        token: tokens.reader,
      });
      assert.equal(res.status, 200);
      assert.deepEqual(Object.keys(res.body).sort(), ["1_2_3", "4_5_6"]);
      assert.equal(res.body["1_2_3"]!.id, "mine");
      assert.equal(res.body["4_5_6"]!.verified, false);
      assert.deepEqual(await dump(ATLAS_PATH), before);
    });

    it("pages with limit and cursor", async () => {
      const docs = {};
      for (let i = 0; i < 5; i++) {
        Object.assign(
          docs,
          point(`p${i}`, { user: PERSONAS.reader, dataset: PRIVATE_DS, locationkey: `${i}_0_0` }),
        );
      }
      await seedDocs(docs);
      const first = await call<Record<string, Point>>(server.url, "GET", `/v2/atlas/${PRIVATE_DS}?limit=3`, {
        token: tokens.reader,
      });
      assert.equal(Object.keys(first.body).length, 3);
      const cursor = first.headers.get("x-next-cursor");
      assert.ok(cursor);
      const second = await call<Record<string, Point>>(
        server.url,
        "GET",
        `/v2/atlas/${PRIVATE_DS}?limit=3&cursor=${cursor}`,
        {
          token: tokens.reader,
        },
      );
      assert.equal(second.headers.get("x-next-cursor"), null);
      assert.deepEqual([...Object.keys(first.body), ...Object.keys(second.body)].sort(), [
        "0_0_0",
        "1_0_0",
        "2_0_0",
        "3_0_0",
        "4_0_0",
      ]);
    });

    it("permission matrix", async () => {
      const expected = {
        anonymous: 401,
        unknown: 403,
        reader: 200,
        writer: 200,
        datasetAdmin: 200,
        admin: 200,
        disabled: 403,
      };
      await checkMatrix(server, tokens, { method: "GET", path: `/v2/atlas/${PRIVATE_DS}` }, expected);
      await checkMatrix(
        server,
        tokens,
        { method: "GET", path: `/v2/atlas/${PUBLIC_DS}` },
        { ...expected, unknown: 200 },
      );
    });
  });

  describe("GET /v2/atlas/all", () => {
    const seed = () =>
      seedDocs({
        "clio_datasets/secret-ds": { description: "nobody here can read it" },
        ...point("readerOwn", { user: PERSONAS.reader, dataset: PRIVATE_DS, verified: false }),
        ...point("writerVerified", { user: PERSONAS.writer, dataset: PRIVATE_DS, verified: true }),
        ...point("dsadminUnverified", { user: PERSONAS.datasetAdmin, dataset: PRIVATE_DS, verified: false }),
        ...point("publicVerified", { user: "other@example.org", dataset: PUBLIC_DS, verified: true }),
        ...point("publicLegacy", { user: "other@example.org", dataset: PUBLIC_DS }),
        ...point("secretVerified", { user: "other@example.org", dataset: "secret-ds", verified: true }),
      });
    const visible = async (persona: Persona, pageSize?: number): Promise<string[]> => {
      if (pageSize === undefined) {
        const res = await call<Point[]>(server.url, "GET", "/v2/atlas/all", { token: tokens[persona] });
        assert.equal(res.status, 200);
        return res.body.map((p) => p.id).sort();
      }
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const q: string = cursor ? `&cursor=${cursor}` : "";
        const res = await call<Point[]>(server.url, "GET", `/v2/atlas/all?limit=${pageSize}${q}`, {
          token: tokens[persona],
        });
        assert.ok(res.body.length <= pageSize);
        ids.push(...res.body.map((p) => p.id));
        cursor = res.headers.get("x-next-cursor");
      } while (cursor);
      return ids.sort();
    };

    it("shows verified points of readable datasets, the caller's own, and unverified ones to clio_write", async () => {
      await seed();
      server.deps.datasets.invalidate();
      const before = await dump(ATLAS_PATH);
      assert.deepEqual(await visible("unknown"), ["publicVerified"]);
      assert.deepEqual(await visible("reader"), ["publicVerified", "readerOwn", "writerVerified"]);
      assert.deepEqual(await visible("writer"), [
        "dsadminUnverified",
        "publicVerified",
        "readerOwn",
        "writerVerified",
      ]);
      assert.deepEqual(await visible("admin"), [
        "dsadminUnverified",
        "publicLegacy",
        "publicVerified",
        "readerOwn",
        "secretVerified",
        "writerVerified",
      ]);
      // Reads never write: the legacy point still has no `verified` field.
      assert.deepEqual(await dump(ATLAS_PATH), before);
    });

    it("pages through the same points", async () => {
      await seed();
      server.deps.datasets.invalidate();
      for (const persona of ["writer", "admin"] as const) {
        assert.deepEqual(await visible(persona, 2), await visible(persona));
      }
    });

    it("permission matrix", async () => {
      await checkMatrix(
        server,
        tokens,
        { method: "GET", path: "/v2/atlas/all" },
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

  describe("DELETE /v2/atlas/{dataset}", () => {
    it("deletes the caller's point at the location and nobody else's", async () => {
      await seedDocs({
        ...point("mine", { user: PERSONAS.reader, dataset: PRIVATE_DS }),
        ...point("theirs", { user: PERSONAS.writer, dataset: PRIVATE_DS }),
      });
      const res = await call(server.url, "DELETE", `/v2/atlas/${PRIVATE_DS}?x=1&y=2&z=3`, {
        token: tokens.reader,
      });
      assert.equal(res.status, 200);
      assert.equal(res.body, null);
      assert.deepEqual(Object.keys(await dump(ATLAS_PATH)), [atlasDoc("theirs")]);
    });

    it("refuses a missing location with 400", async () => {
      await seedDocs(point("mine", { user: PERSONAS.reader, dataset: PRIVATE_DS }));
      const res = await call(server.url, "DELETE", `/v2/atlas/${PRIVATE_DS}?x=1&y=2`, {
        token: tokens.reader,
      });
      assert.equal(res.status, 400);
      assert.deepEqual(Object.keys(await dump(ATLAS_PATH)), [atlasDoc("mine")]);
    });

    it("permission matrix", async () => {
      await checkMatrix(
        server,
        tokens,
        { method: "DELETE", path: `/v2/atlas/${PRIVATE_DS}?x=1&y=2&z=3` },
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
    });
  });

  describe("POST /v2/atlas-verify/{id}", () => {
    it("toggles verification, records who and when, and keeps the point's timestamp", async () => {
      await seedDocs(point("p", { user: PERSONAS.reader, dataset: PRIVATE_DS, verified: false }));
      const on = await call<Point>(server.url, "POST", "/v2/atlas-verify/p", { token: tokens.writer });
      assert.equal(on.status, 200);
      const stored = (await firestore().doc(atlasDoc("p")).get()).data()!;
      assert.equal(stored.verified, true);
      assert.equal(stored.verified_by, PERSONAS.writer);
      assert.equal(typeof stored.verified_at, "number");
      assert.equal(stored.timestamp, 1000.5);
      assert.deepEqual(on.body, stored);
      const off = await call<Point>(server.url, "POST", "/v2/atlas-verify/p", { token: tokens.admin });
      assert.equal(off.body.verified, false);
      assert.equal(off.body.verified_by, PERSONAS.admin);
      assert.equal(off.body.timestamp, 1000.5);
    });

    it("404 for an unknown point", async () => {
      const res = await call(server.url, "POST", "/v2/atlas-verify/nope", { token: tokens.admin });
      assert.equal(res.status, 404);
      assert.deepEqual(await dump(ATLAS_PATH), {});
    });

    it("permission matrix (private and public dataset)", async () => {
      const seedPrivate = () => seedDocs(point("p", { user: PERSONAS.reader, dataset: PRIVATE_DS }));
      const seedPublic = () => seedDocs(point("p", { user: PERSONAS.reader, dataset: PUBLIC_DS }));
      const req = { method: "POST", path: "/v2/atlas-verify/p" };
      await checkMatrix(
        server,
        tokens,
        req,
        {
          anonymous: 401,
          unknown: 403,
          reader: 403,
          writer: 200,
          datasetAdmin: 200,
          admin: 200,
          disabled: 403,
        },
        seedPrivate,
      );
      await checkMatrix(
        server,
        tokens,
        req,
        {
          anonymous: 401,
          unknown: 403,
          reader: 403,
          writer: 403,
          datasetAdmin: 403,
          admin: 200,
          disabled: 403,
        },
        seedPublic,
      );
    });
  });
});
