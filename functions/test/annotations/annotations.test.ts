import assert from "node:assert/strict";
import { encodeCursor } from "../../src/http/paging.js";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadSeed, SEED_DIR } from "../../../scripts/lib/seed.js";
import { annotationsApi } from "../../src/api/annotations.js";
import type { PageReader } from "../../src/store/pages.js";
import { annotationPages } from "../../src/services/annotations.js";
import { firestore } from "../../src/store/firebase.js";
import { checkMatrix } from "../helpers/matrix.js";
import {
  call,
  personaTokens,
  PERSONAS,
  PRIVATE_DS,
  PUBLIC_DS,
  resetToSeed,
  serve,
  type Persona,
  type TestServer,
} from "../helpers/server.js";

type Doc = Record<string, unknown>;
type Out = Doc & { user: string; key: string };

const READER = PERSONAS.reader;
const WRITER = PERSONAS.writer;

function owned(dataset: string, owner: string) {
  return firestore().collection("clio_annotations_v2").doc(dataset).collection(owner);
}

async function seed(dataset: string, owner: string, docs: Record<string, Doc>): Promise<void> {
  const entries = Object.entries(docs);
  for (let i = 0; i < entries.length; i += 500) {
    const batch = firestore().batch();
    for (const [key, doc] of entries.slice(i, i + 500)) batch.set(owned(dataset, owner).doc(key), doc);
    await batch.commit();
  }
}

/** Every v2 annotation in the test datasets, by path: what "nothing was written" compares. */
async function everything(): Promise<Record<string, Doc>> {
  const out: Record<string, Doc> = {};
  for (const ds of [PRIVATE_DS, PUBLIC_DS, "other-ds"]) {
    for (const col of await firestore().collection("clio_annotations_v2").doc(ds).listCollections()) {
      for (const doc of (await col.get()).docs) out[doc.ref.path] = doc.data();
    }
  }
  return out;
}

const point = (x: number, y: number, z: number, extra: Doc = {}): Doc => ({
  kind: "point",
  pos: [x, y, z],
  ...extra,
});

describe("annotations v2", () => {
  let server: TestServer;
  let tokens: Record<Persona, string | undefined>;

  before(async () => {
    server = await serve(annotationsApi);
    tokens = await personaTokens();
  });
  after(() => server.close());
  beforeEach(async () => {
    await resetToSeed(server);
  });

  it("serves the emulator seed (emulator-data/firestore/annotations.json)", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "seed-"));
    try {
      await copyFile(path.join(SEED_DIR, "annotations.json"), path.join(dir, "annotations.json"));
      await loadSeed(firestore(), dir);
    } finally {
      await rm(dir, { recursive: true });
    }
    const res = await call<Out[]>(server.url, "GET", `/v2/annotations/${PRIVATE_DS}?groups=team`, {
      token: tokens.reader,
    });
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.map((a) => `${a.user}/${a.key}`),
      [
        `${READER}/Pt2010_2105_610`,
        `${READER}/Sp2000_2100_600_40_40_40`,
        `${WRITER}/Ln1000_1000_500_1100_1050_520`,
        `${WRITER}/Pt1200_3400_560`,
      ],
    );
  });

  describe("GET /v2/annotations/{dataset}", () => {
    it("returns the caller's annotations as clio's list of {user, key, ...}", async () => {
      await seed(PRIVATE_DS, WRITER, {
        Pt1_2_3: {
          kind: "point",
          pos: [1, 2, 3],
          prop: { color: "red" },
          tags: ["a"],
          title: "t",
          user: WRITER,
        },
        Ln1_2_3_4_5_6: { kind: "lineseg", pos: [1, 2, 3, 4, 5, 6], description: "d", user: WRITER },
      });
      await seed(PRIVATE_DS, READER, { Pt9_9_9: { kind: "point", pos: [9, 9, 9], user: READER } });
      const res = await call<Out[]>(server.url, "GET", `/v2/annotations/${PRIVATE_DS}`, {
        token: tokens.writer,
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, [
        { kind: "lineseg", pos: [1, 2, 3, 4, 5, 6], description: "d", user: WRITER, key: "Ln1_2_3_4_5_6" },
        {
          kind: "point",
          pos: [1, 2, 3],
          prop: { color: "red" },
          tags: ["a"],
          title: "t",
          user: WRITER,
          key: "Pt1_2_3",
        },
      ]);
      const slash = await call<Out[]>(server.url, "GET", `/v2/annotations/${PRIVATE_DS}/`, {
        token: tokens.writer,
      });
      assert.deepEqual(slash.body, res.body);
      const none = await call<Out[]>(server.url, "GET", `/v2/annotations/${PRIVATE_DS}`, {
        token: tokens.datasetAdmin,
      });
      assert.deepEqual(none.body, []);
    });

    it("fills user from the collection for old documents that lack it", async () => {
      await seed(PRIVATE_DS, WRITER, { Pt1_1_1: { kind: "point", pos: [1, 1, 1] } });
      const res = await call<Out[]>(server.url, "GET", `/v2/annotations/${PRIVATE_DS}`, {
        token: tokens.writer,
      });
      assert.deepEqual(res.body, [{ kind: "point", pos: [1, 1, 1], user: WRITER, key: "Pt1_1_1" }]);
    });

    it("adds the members of the caller's groups; admins may name any group", async () => {
      await seed(PRIVATE_DS, WRITER, { Pt1_1_1: point(1, 1, 1, { user: WRITER }) });
      await seed(PRIVATE_DS, READER, { Pt2_2_2: point(2, 2, 2, { user: READER }) });
      await seed(PRIVATE_DS, PERSONAS.admin, { Pt3_3_3: point(3, 3, 3, { user: PERSONAS.admin }) });
      const keysOf = (body: Out[]) => body.map((a) => `${a.user}/${a.key}`);

      const team = await call<Out[]>(server.url, "GET", `/v2/annotations/${PRIVATE_DS}?groups=team`, {
        token: tokens.reader,
      });
      assert.equal(team.status, 200);
      assert.deepEqual(keysOf(team.body), [`${READER}/Pt2_2_2`, `${WRITER}/Pt1_1_1`]);

      // Groups the caller is not in are dropped when at least one is theirs.
      const mixed = await call<Out[]>(
        server.url,
        "GET",
        `/v2/annotations/${PRIVATE_DS}?groups=team,strangers`,
        {
          token: tokens.reader,
        },
      );
      assert.deepEqual(keysOf(mixed.body), keysOf(team.body));

      const notMine = await call<{ code: string; detail: string }>(
        server.url,
        "GET",
        `/v2/annotations/${PRIVATE_DS}?groups=strangers`,
        {
          token: tokens.reader,
        },
      );
      assert.equal(notMine.status, 403);
      assert.match(notMine.body.detail, /not a member of strangers/);
      const outsider = await call(server.url, "GET", `/v2/annotations/${PRIVATE_DS}?groups=team`, {
        token: tokens.datasetAdmin,
      });
      assert.equal(outsider.status, 403);

      const admin = await call<Out[]>(server.url, "GET", `/v2/annotations/${PRIVATE_DS}?groups=team`, {
        token: tokens.admin,
      });
      assert.deepEqual(keysOf(admin.body), [
        `${PERSONAS.admin}/Pt3_3_3`,
        `${READER}/Pt2_2_2`,
        `${WRITER}/Pt1_1_1`,
      ]);

      const empty = await call(server.url, "GET", `/v2/annotations/${PRIVATE_DS}?groups=,`, {
        token: tokens.reader,
      });
      assert.equal(empty.status, 400);
    });

    it("reads another user's annotations for admins only", async () => {
      await seed(PRIVATE_DS, WRITER, { Pt1_1_1: point(1, 1, 1, { user: WRITER }) });
      const admin = await call<Out[]>(server.url, "GET", `/v2/annotations/${PRIVATE_DS}?user=${WRITER}`, {
        token: tokens.admin,
      });
      assert.equal(admin.status, 200);
      assert.deepEqual(admin.body, [{ kind: "point", pos: [1, 1, 1], user: WRITER, key: "Pt1_1_1" }]);
      const upper = await call<Out[]>(
        server.url,
        "GET",
        `/v2/annotations/${PRIVATE_DS}?user=Writer@Example.org`,
        { token: tokens.admin },
      );
      assert.deepEqual(upper.body, admin.body);
      const reader = await call(server.url, "GET", `/v2/annotations/${PRIVATE_DS}?user=${WRITER}`, {
        token: tokens.reader,
      });
      assert.equal(reader.status, 403);
      const self = await call<Out[]>(server.url, "GET", `/v2/annotations/${PRIVATE_DS}?user=${WRITER}`, {
        token: tokens.writer,
      });
      assert.equal(self.status, 200);
      assert.equal(self.body.length, 1);
      const bad = await call(server.url, "GET", `/v2/annotations/${PRIVATE_DS}?user=not-an-email`, {
        token: tokens.admin,
      });
      assert.equal(bad.status, 400);
    });

    it("pages across group members with limit and cursor, and streams everything unpaged", async () => {
      const mine: Record<string, Doc> = {};
      for (let i = 0; i < 7; i++) mine[`Pt${i}_0_0`] = point(i, 0, 0, { user: WRITER });
      await seed(PRIVATE_DS, WRITER, mine);
      await seed(PRIVATE_DS, READER, {
        Pt1_1_1: point(1, 1, 1),
        Pt2_2_2: point(2, 2, 2),
        Pt3_3_3: point(3, 3, 3),
      });
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
        const res = await call<Out[]>(
          server.url,
          "GET",
          `/v2/annotations/${PRIVATE_DS}?groups=team&limit=4${q}`,
          { token: tokens.reader },
        );
        assert.equal(res.status, 200);
        assert.ok(res.body.length <= 4);
        seen.push(...res.body.map((a) => `${a.user}/${a.key}`));
        cursor = res.headers.get("x-next-cursor");
        pages += 1;
      } while (cursor);
      assert.equal(pages, 3);
      assert.equal(seen.length, 10);
      assert.equal(new Set(seen).size, 10);
      const streamed = await call<Out[]>(server.url, "GET", `/v2/annotations/${PRIVATE_DS}?groups=team`, {
        token: tokens.reader,
      });
      assert.deepEqual(
        streamed.body.map((a) => `${a.user}/${a.key}`),
        seen,
      );
      const bad = await call(server.url, "GET", `/v2/annotations/${PRIVATE_DS}?cursor=nope`, {
        token: tokens.reader,
      });
      assert.equal(bad.status, 400);
      // Well-formed cursors whose position was not made by us are refused too, not a 500.
      for (const position of [
        "not json",
        JSON.stringify({ owner: 1 }),
        JSON.stringify(["reader@example.org", "Pt1/2"]),
      ]) {
        const forged = await call(
          server.url,
          "GET",
          `/v2/annotations/${PRIVATE_DS}?limit=2&cursor=${encodeCursor(position)}`,
          { token: tokens.reader },
        );
        assert.equal(forged.status, 400, position);
      }
    });

    it("serves the same pages from a read-ahead batch as from direct queries", async () => {
      const a: Record<string, Doc> = {};
      for (let i = 0; i < 13; i++) a[`Pt${i}_0_0`] = point(i, 0, 0);
      await seed(PRIVATE_DS, READER, a);
      await seed(PRIVATE_DS, WRITER, { Pt1_1_1: point(1, 1, 1), Pt2_2_2: point(2, 2, 2) });
      const owners = [PERSONAS.admin, READER, WRITER];
      const collect = async (read: PageReader, size: number) => {
        const out: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await read(after, size);
          out.push(...page.map((i) => i.position));
          if (page.length < size) return out;
          after = page[page.length - 1]!.position;
        }
      };
      const direct = await collect(annotationPages(firestore(), PRIVATE_DS, owners), 5);
      assert.equal(direct.length, 15);
      assert.deepEqual(await collect(annotationPages(firestore(), PRIVATE_DS, owners, 7), 5), direct);
      assert.deepEqual(await collect(annotationPages(firestore(), PRIVATE_DS, owners, 3), 5), direct);
      // A reader asked to start elsewhere than where its batch continues starts afresh.
      const reader = annotationPages(firestore(), PRIVATE_DS, owners, 7);
      await reader(undefined, 5);
      const restarted = await reader(direct[9], 5);
      assert.deepEqual(
        restarted.map((i) => i.position),
        direct.slice(10, 15),
      );
    });

    it("streams a list longer than one internal page", async () => {
      const many: Record<string, Doc> = {};
      for (let i = 0; i < 5678; i++) many[`Pt${i}_0_0`] = point(i, 0, 0, { user: WRITER });
      await seed(PRIVATE_DS, WRITER, many);
      const res = await call<Out[]>(server.url, "GET", `/v2/annotations/${PRIVATE_DS}`, {
        token: tokens.writer,
      });
      assert.equal(res.status, 200);
      assert.equal(res.body.length, 5678);
      assert.equal(new Set(res.body.map((a) => a.key)).size, 5678);
    });

    it("permission matrix on the private and the public dataset", async () => {
      await checkMatrix(
        server,
        tokens,
        { method: "GET", path: `/v2/annotations/${PRIVATE_DS}` },
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
        { method: "GET", path: `/v2/annotations/${PUBLIC_DS}` },
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

  describe("POST /v2/annotations/{dataset}", () => {
    it("writes one annotation and answers {key}, as clio's model stores it", async () => {
      const res = await call(server.url, "POST", `/v2/annotations/${PRIVATE_DS}`, {
        token: tokens.reader,
        body: {
          kind: "point",
          pos: [1.9, 2, -3.5],
          prop: { note: "x" },
          tags: ["t"],
          title: "T",
          verified: true,
        },
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { key: "Pt1_2_-3" });
      const stored = (await owned(PRIVATE_DS, READER).doc("Pt1_2_-3").get()).data();
      assert.deepEqual(stored, {
        kind: "point",
        pos: [1, 2, -3],
        prop: { note: "x" },
        tags: ["t"],
        title: "T",
        user: READER,
      });

      const line = await call(server.url, "PUT", `/v2/annotations/${PRIVATE_DS}`, {
        token: tokens.reader,
        body: { kind: "lineseg", pos: [1, 2, 3, 4, 5, 6] },
      });
      assert.deepEqual(line.body, { key: "Ln1_2_3_4_5_6" });
      const sphere = await call(server.url, "POST", `/v2/annotations/${PRIVATE_DS}/`, {
        token: tokens.reader,
        body: { kind: "sphere", pos: [1, 2, 3, 4, 5, 6], description: "ball" },
      });
      assert.deepEqual(sphere.body, { key: "Sp1_2_3_4_5_6" });
      const listed = await call<Out[]>(server.url, "GET", `/v2/annotations/${PRIVATE_DS}`, {
        token: tokens.reader,
      });
      assert.deepEqual(
        listed.body.map((a) => a.key),
        ["Ln1_2_3_4_5_6", "Pt1_2_-3", "Sp1_2_3_4_5_6"],
      );
    });

    it("writes every item of a 500-annotation list and answers {keys} in order", async () => {
      const body = Array.from({ length: 500 }, (_, i) => point(499 - i, i, 7, { title: `n${i}` }));
      const res = await call<{ keys: string[] }>(server.url, "POST", `/v2/annotations/${PRIVATE_DS}`, {
        token: tokens.writer,
        body,
      });
      assert.equal(res.status, 200);
      assert.deepEqual(
        res.body.keys,
        body.map((_, i) => `Pt${499 - i}_${i}_7`),
      );
      const count = await owned(PRIVATE_DS, WRITER).count().get();
      assert.equal(count.data().count, 500);
      const last = (await owned(PRIVATE_DS, WRITER).doc("Pt0_499_7").get()).data();
      assert.deepEqual(last, { kind: "point", pos: [0, 499, 7], title: "n499", user: WRITER });
    });

    it("writes lists longer than one commit, including another user's items for clio_write", async () => {
      const body = Array.from({ length: 1100 }, (_, i) => point(i, 0, 0, i % 2 ? { user: READER } : {}));
      const res = await call<{ keys: string[] }>(server.url, "POST", `/v2/annotations/${PRIVATE_DS}`, {
        token: tokens.writer,
        body,
      });
      assert.equal(res.status, 200);
      assert.equal(res.body.keys.length, 1100);
      assert.equal((await owned(PRIVATE_DS, WRITER).count().get()).data().count, 550);
      assert.equal((await owned(PRIVATE_DS, READER).count().get()).data().count, 550);
      assert.equal((await owned(PRIVATE_DS, READER).doc("Pt1_0_0").get()).data()?.user, READER);
    });

    it("undoes the committed part of a long list when a later part fails", async () => {
      const big = "x".repeat(600_000);
      await seed(PRIVATE_DS, WRITER, { Pt900_0_0: point(900, 0, 0, { user: WRITER, prop: { a: big } }) });
      const before = await everything();
      const body = Array.from({ length: 1000 }, (_, i) =>
        point(i, 0, 0, i === 900 ? { prop: { b: big } } : {}),
      );
      const res = await call<{ code: string }>(
        server.url,
        "POST",
        `/v2/annotations/${PRIVATE_DS}?replace=false`,
        {
          token: tokens.writer,
          body,
        },
      );
      assert.equal(res.status, 413);
      assert.equal(res.body.code, "payload_too_large");
      assert.deepEqual(await everything(), before);
    });

    it("move_key writes the new key and deletes the old one in one step", async () => {
      await seed(PRIVATE_DS, READER, { Pt1_2_3: point(1, 2, 3, { user: READER, title: "old" }) });
      const res = await call(server.url, "POST", `/v2/annotations/${PRIVATE_DS}?move_key=Pt1_2_3`, {
        token: tokens.reader,
        body: point(4, 5, 6, { title: "moved" }),
      });
      assert.deepEqual(res.body, { key: "Pt4_5_6" });
      assert.equal((await owned(PRIVATE_DS, READER).doc("Pt1_2_3").get()).exists, false);
      assert.equal((await owned(PRIVATE_DS, READER).doc("Pt4_5_6").get()).data()?.title, "moved");
      // Moving onto the same key keeps it.
      const same = await call(server.url, "POST", `/v2/annotations/${PRIVATE_DS}?move_key=Pt4_5_6`, {
        token: tokens.reader,
        body: point(4, 5, 6, { title: "again" }),
      });
      assert.equal(same.status, 200);
      assert.equal((await owned(PRIVATE_DS, READER).doc("Pt4_5_6").get()).data()?.title, "again");
    });

    it("replace=true overwrites, replace=false merges, conditional protects set fields", async () => {
      await seed(PRIVATE_DS, READER, {
        Pt1_1_1: point(1, 1, 1, { user: READER, prop: { a: 1, b: 2 }, title: "keep", tags: ["x"] }),
      });
      const doc = async () => (await owned(PRIVATE_DS, READER).doc("Pt1_1_1").get()).data();

      await call(server.url, "POST", `/v2/annotations/${PRIVATE_DS}?replace=false`, {
        token: tokens.reader,
        body: point(1, 1, 1, { prop: { b: 3 }, description: "new" }),
      });
      assert.deepEqual(await doc(), {
        kind: "point",
        pos: [1, 1, 1],
        user: READER,
        prop: { a: 1, b: 3 },
        title: "keep",
        tags: ["x"],
        description: "new",
      });

      await seed(PRIVATE_DS, READER, {
        Pt1_1_1: point(1, 1, 1, { user: READER, title: "", description: "set" }),
      });
      await call(
        server.url,
        "POST",
        `/v2/annotations/${PRIVATE_DS}?replace=false&conditional=title,description`,
        {
          token: tokens.reader,
          body: point(1, 1, 1, { title: "filled", description: "overwritten?", tags: ["y"] }),
        },
      );
      assert.deepEqual(await doc(), {
        kind: "point",
        pos: [1, 1, 1],
        user: READER,
        title: "filled",
        description: "set",
        tags: ["y"],
      });

      const replaced = await call(server.url, "POST", `/v2/annotations/${PRIVATE_DS}`, {
        token: tokens.reader,
        body: point(1, 1, 1, { title: "only" }),
      });
      assert.equal(replaced.status, 200);
      assert.deepEqual(await doc(), { kind: "point", pos: [1, 1, 1], user: READER, title: "only" });
    });

    it("applies repeated keys in a list in order", async () => {
      const res = await call<{ keys: string[] }>(
        server.url,
        "POST",
        `/v2/annotations/${PRIVATE_DS}?replace=false`,
        {
          token: tokens.reader,
          body: [point(1, 1, 1, { title: "first", tags: ["a"] }), point(1, 1, 1, { title: "second" })],
        },
      );
      assert.deepEqual(res.body, { keys: ["Pt1_1_1", "Pt1_1_1"] });
      assert.deepEqual((await owned(PRIVATE_DS, READER).doc("Pt1_1_1").get()).data(), {
        kind: "point",
        pos: [1, 1, 1],
        user: READER,
        title: "second",
        tags: ["a"],
      });
    });

    it("writes another user's annotation only with clio_write, and a refused list writes nothing", async () => {
      const ok = await call(server.url, "POST", `/v2/annotations/${PRIVATE_DS}`, {
        token: tokens.writer,
        body: point(1, 1, 1, { user: READER }),
      });
      assert.equal(ok.status, 200);
      assert.equal((await owned(PRIVATE_DS, READER).doc("Pt1_1_1").get()).data()?.user, READER);

      const before = await everything();
      const denied = await call<{ code: string }>(server.url, "POST", `/v2/annotations/${PRIVATE_DS}`, {
        token: tokens.reader,
        body: [point(2, 2, 2), point(3, 3, 3, { user: WRITER })],
      });
      assert.equal(denied.status, 403);
      assert.equal(denied.body.code, "permission_denied");
      assert.deepEqual(await everything(), before);
    });

    it("refuses bad input with a message and writes nothing", async () => {
      await seed(PRIVATE_DS, READER, { Pt1_2_3: point(1, 2, 3, { user: READER }) });
      const before = await everything();
      const ds = `/v2/annotations/${PRIVATE_DS}`;
      const cases: { path: string; body: unknown }[] = [
        { path: ds, body: { kind: "circle", pos: [1, 2, 3] } },
        { path: ds, body: { kind: "point", pos: [1, 2] } },
        { path: ds, body: { kind: "lineseg", pos: [1, 2, 3] } },
        { path: ds, body: { kind: "point", pos: ["1", 2, 3] } },
        { path: ds, body: { kind: "point" } },
        { path: ds, body: { kind: "point", pos: [1, 2, 3], prop: { grid: [[1, 2]] } } },
        { path: ds, body: { kind: "point", pos: [1, 2, 3], user: "not an email" } },
        { path: ds, body: [] },
        { path: ds, body: [point(5, 5, 5), { kind: "point", pos: [1] }] },
        { path: ds, body: "text" },
        { path: `${ds}?move_key=Pt1_2_3`, body: [point(5, 5, 5)] },
        { path: `${ds}?move_key=../x`, body: point(5, 5, 5) },
        { path: `${ds}?replace=maybe`, body: point(5, 5, 5) },
        { path: "/v2/annotations/bad%20ds", body: point(5, 5, 5) },
      ];
      for (const { path, body } of cases) {
        const res = await call<{ detail: string; code: string }>(server.url, "POST", path, {
          token: tokens.reader,
          body,
        });
        assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}: ${res.text}`);
        assert.equal(res.body.code, "invalid_argument");
        assert.ok(res.body.detail.length > 0);
      }
      const malformed = await call(server.url, "POST", ds, {
        token: tokens.reader,
        body: "{not json",
        headers: { "content-type": "application/json" },
      });
      assert.equal(malformed.status, 400);
      const huge = await call(server.url, "POST", ds, {
        token: tokens.reader,
        body: point(5, 5, 5, { description: "x".repeat(99_000), prop: { big: "y".repeat(1_100_000) } }),
      });
      assert.equal(huge.status, 413);
      assert.deepEqual(await everything(), before);
    });

    it("permission matrix: own annotations, on the private and the public dataset", async () => {
      const own = { method: "POST", path: `/v2/annotations/${PRIVATE_DS}`, body: point(1, 2, 3) };
      await checkMatrix(server, tokens, own, {
        anonymous: 401,
        unknown: 403,
        reader: 200,
        writer: 200,
        datasetAdmin: 200,
        admin: 200,
        disabled: 403,
      });
      await checkMatrix(
        server,
        tokens,
        { ...own, path: `/v2/annotations/${PUBLIC_DS}` },
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

    it("permission matrix: another user's annotation", async () => {
      const body = point(1, 2, 3, { user: "someone@example.org" });
      await checkMatrix(
        server,
        tokens,
        { method: "POST", path: `/v2/annotations/${PRIVATE_DS}`, body },
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
      // Public datasets give everyone their own writes, not others'.
      await checkMatrix(
        server,
        tokens,
        { method: "POST", path: `/v2/annotations/${PUBLIC_DS}`, body },
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

  describe("DELETE /v2/annotations/{dataset}/{key}", () => {
    it("deletes the caller's annotation, idempotently, answering null", async () => {
      await seed(PRIVATE_DS, READER, {
        Pt1_2_3: point(1, 2, 3, { user: READER }),
        Pt4_5_6: point(4, 5, 6, { user: READER }),
      });
      const res = await call(server.url, "DELETE", `/v2/annotations/${PRIVATE_DS}/Pt1_2_3`, {
        token: tokens.reader,
      });
      assert.equal(res.status, 200);
      assert.equal(res.body, null);
      assert.equal((await owned(PRIVATE_DS, READER).doc("Pt1_2_3").get()).exists, false);
      assert.equal((await owned(PRIVATE_DS, READER).doc("Pt4_5_6").get()).exists, true);
      const again = await call(server.url, "DELETE", `/v2/annotations/${PRIVATE_DS}/Pt1_2_3/`, {
        token: tokens.reader,
      });
      assert.equal(again.status, 200);
    });

    it("deletes another user's annotation with user_email for clio_write only", async () => {
      await seed(PRIVATE_DS, READER, { Pt1_2_3: point(1, 2, 3, { user: READER }) });
      await seed(PRIVATE_DS, WRITER, { Pt1_2_3: point(1, 2, 3, { user: WRITER }) });
      const denied = await call(
        server.url,
        "DELETE",
        `/v2/annotations/${PRIVATE_DS}/Pt1_2_3?user_email=${WRITER}`,
        { token: tokens.reader },
      );
      assert.equal(denied.status, 403);
      assert.equal((await owned(PRIVATE_DS, WRITER).doc("Pt1_2_3").get()).exists, true);
      const ok = await call(
        server.url,
        "DELETE",
        `/v2/annotations/${PRIVATE_DS}/Pt1_2_3?user_email=${READER}`,
        { token: tokens.writer },
      );
      assert.equal(ok.status, 200);
      assert.equal((await owned(PRIVATE_DS, READER).doc("Pt1_2_3").get()).exists, false);
      assert.equal((await owned(PRIVATE_DS, WRITER).doc("Pt1_2_3").get()).exists, true);
    });

    it("refuses bad keys and emails and deletes nothing", async () => {
      await seed(PRIVATE_DS, READER, { Pt1_2_3: point(1, 2, 3, { user: READER }) });
      const before = await everything();
      for (const path of [
        `/v2/annotations/${PRIVATE_DS}/__name__`,
        `/v2/annotations/${PRIVATE_DS}/Pt1_2_3?user_email=nobody`,
        `/v2/annotations/bad%20ds/Pt1_2_3`,
      ]) {
        const res = await call<{ code: string }>(server.url, "DELETE", path, { token: tokens.reader });
        assert.equal(res.status, 400, path);
        assert.equal(res.body.code, "invalid_argument");
      }
      assert.deepEqual(await everything(), before);
    });

    it("permission matrix: own and another user's annotation", async () => {
      const seedOne = () => seed(PRIVATE_DS, "someone@example.org", { Pt1_2_3: point(1, 2, 3) });
      await checkMatrix(
        server,
        tokens,
        { method: "DELETE", path: `/v2/annotations/${PRIVATE_DS}/Pt1_2_3` },
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
        { method: "DELETE", path: `/v2/annotations/${PUBLIC_DS}/Pt1_2_3` },
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
      await checkMatrix(
        server,
        tokens,
        { method: "DELETE", path: `/v2/annotations/${PRIVATE_DS}/Pt1_2_3?user_email=someone@example.org` },
        {
          anonymous: 401,
          unknown: 403,
          reader: 403,
          writer: 200,
          datasetAdmin: 200,
          admin: 200,
          disabled: 403,
        },
        seedOne,
      );
    });
  });
});
