/**
 * Client conformance: each real clio client's requests replayed exactly as it sends them (method,
 * path, query with its `app=` marker, headers including a missing Content-Type, body), asserting
 * what that client reads from the answer. Calls and source files are listed in
 * ../shared/reference/clio-clients.md (W = website, R = malevnc, S = schlegelp/clio-py,
 * P = janelia-flyem/clio-py, C = neuclease, D = coda).
 */
import assert from "node:assert/strict";
import { apiGroups } from "../../src/api/groups.js";
import { createJsonAnnotationsApi } from "../../src/api/json-annotations.js";
import { firestore } from "../../src/store/firebase.js";
import {
  personaTokens,
  PRIVATE_DS,
  resetToSeed,
  serve,
  type Persona,
  type TestServer,
} from "../helpers/server.js";
import { exactParse, seedRecords, send, type Sent } from "../json-annotations/util.js";

const DS = PRIVATE_DS;
const NEURONS = `/v2/json-annotations/${DS}/neurons`;
/** The seeded dataset's current tag (helpers/server.ts). */
const TAG = "v1.2";

describe("clio clients, replayed", () => {
  let server: TestServer;
  let close: () => Promise<void>;
  let tokens: Record<Persona, string | undefined>;
  let writer: string;

  beforeEach(async () => {
    const api = createJsonAnnotationsApi();
    server = await serve([...apiGroups.filter((g) => g.name !== api.name), api]);
    await resetToSeed(server);
    tokens = await personaTokens();
    writer = tokens.writer!;
    await seedRecords([
      { bodyid: 10001, type: "LC4", status: "Anchor", instance: "LC4_R", tags: ["visual"] },
      { bodyid: 10002, type: "LC10", status: "Roughly traced" },
      { bodyid: 10003, type: "MBON01", status: "Traced", notes: "" },
    ]);
    close = async () => {
      await api.close();
      await server.close();
    };
  });
  afterEach(() => close());

  const ids = (res: Sent) => (res.body as { bodyid: number | bigint }[]).map((r) => String(r.bodyid));

  describe("Clio website (clio_website @ cd8258b)", () => {
    // fetch() with a string body and no headers sends text/plain;charset=UTF-8.
    const TEXT = "text/plain;charset=UTF-8";

    it("W3/W5: roles and datasets; the body panel reads id-number with version=<dataset.tag>", async () => {
      const roles = await send(server.url, "GET", "/v2/roles", { token: writer });
      assert.deepEqual((roles.body as { datasets: object }).datasets, { [DS]: ["clio_write"] });
      const datasets = await send(server.url, "GET", "/v2/datasets", { token: writer });
      const tag = (datasets.body as Record<string, { tag: string }>)[DS]!.tag;
      assert.equal(tag, TAG);
      const res = await send(server.url, "GET", `${NEURONS}/id-number/10001,10002,4?version=${tag}`, {
        token: writer,
      });
      assert.equal(res.status, 200);
      assert.deepEqual(ids(res), ["10001", "10002"]);
      const one = await send(server.url, "GET", `${NEURONS}/id-number/10003?version=${tag}`, {
        token: writer,
      });
      assert.deepEqual(one.body, [{ bodyid: 10003, type: "MBON01", status: "Traced", notes: "" }]);
    });

    it("W10: queries with status lists, re/ and exists/, read as Object.values(response)", async () => {
      const q = (body: unknown) =>
        send(server.url, "POST", `${NEURONS}/query?version=${TAG}`, {
          token: writer,
          body: JSON.stringify(body),
          contentType: TEXT,
        });
      assert.deepEqual(ids(await q({ status: ["Anchor", "Roughly traced"] })), ["10001", "10002"]);
      assert.deepEqual(ids(await q({ type: "re/^L.*" })), ["10001", "10002"]);
      assert.deepEqual(ids(await q({ type: "exists/1" })), ["10001", "10002", "10003"]);
    });

    it("W11: posts the merged record with replace=false; res.json() reads null; only changed fields stamped", async () => {
      const before = await send(server.url, "GET", `${NEURONS}/id-number/10001?show=all`, { token: writer });
      const merged = { ...(before.body as Record<string, unknown>[])[0]!, status: "Traced" };
      const res = await send(server.url, "POST", `${NEURONS}?version=${TAG}&replace=false`, {
        token: writer,
        body: JSON.stringify(merged),
        contentType: TEXT,
      });
      assert.equal(res.status, 200);
      assert.equal(exactParse(res.text), null);
      const after = (
        (await send(server.url, "GET", `${NEURONS}/id-number/10001?show=all`, { token: writer }))
          .body as Record<string, unknown>[]
      )[0]!;
      assert.equal(after.status, "Traced");
      assert.equal(after.status_user, "writer@example.org");
      assert.equal(after.type_user, undefined);
      assert.equal(after.instance_time, undefined);
    });

    it("W22: the new-user form posts {email: {…, email}} as text/plain", async () => {
      const res = await send(server.url, "POST", "/v2/users", {
        token: tokens.admin,
        body: JSON.stringify({
          "new@example.org": {
            global_roles: [],
            datasets: { [DS]: ["clio_general"] },
            email: "new@example.org",
          },
        }),
        contentType: TEXT,
      });
      assert.equal(res.status, 200, res.text);
      const stored = (await firestore().collection("clio_users").doc("new@example.org").get()).data();
      assert.deepEqual(stored, { global_roles: [], datasets: { [DS]: ["clio_general"] } });
    });

    it("W8: the atlas verify toggle posts the record as text/plain", async () => {
      const res = await send(server.url, "POST", `/v2/atlas/${DS}?x=1&y=2&z=3`, {
        token: writer,
        body: JSON.stringify({ title: "t", user: "writer@example.org", verified: false }),
        contentType: TEXT,
      });
      assert.equal(res.status, 200, res.text);
    });
  });

  describe("malevnc / malecns (natverse/malevnc @ b7b63c0): app=natverse on every call", () => {
    it("R2: clio_version() reads the tag from /v2/datasets?app=natverse", async () => {
      const res = await send(server.url, "GET", "/v2/datasets?app=natverse", { token: writer });
      assert.equal(res.status, 200, res.text);
      assert.equal((res.body as Record<string, { tag: string }>)[DS]!.tag, TAG);
    });

    it("R3/R6: /all and /fields", async () => {
      const all = await send(server.url, "GET", `${NEURONS}/all?app=natverse`, { token: writer });
      assert.deepEqual(ids(all), ["10001", "10002", "10003"]);
      const fields = await send(server.url, "GET", `${NEURONS}/fields?app=natverse`, { token: writer });
      assert.ok((fields.body as string[]).includes("instance"));
    });

    it("R4: id-number with 1,000 eleven-digit ids and show=", async () => {
      const many = Array.from({ length: 1000 }, (_, i) => 20_000_000_000 + i);
      await seedRecords(many.map((bodyid) => ({ bodyid, status: "Anchor" })));
      // A fresh instance loads what was seeded.
      await close();
      const api = createJsonAnnotationsApi();
      server = await serve([api]);
      close = async () => {
        await api.close();
        await server.close();
      };
      for (const show of ["none", "user", "time", "all"]) {
        const res = await send(
          server.url,
          "GET",
          `${NEURONS}/id-number/${many.join(",")}?changes=false&id_field=bodyid&show=${show}&app=natverse`,
          { token: writer },
        );
        assert.equal(res.status, 200, res.text.slice(0, 200));
        assert.deepEqual(ids(res), many.map(String));
      }
    });

    it("R5: manc_body_annotations(query=) posts a JSON string with no Content-Type", async () => {
      const res = await send(
        server.url,
        "POST",
        `${NEURONS}/query?changes=false&id_field=bodyid&show=user&app=natverse`,
        { token: writer, body: '{"type":"LC4"}', contentType: null },
      );
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(ids(res), ["10001"]);
      // An empty typeless body is not the empty query ("match everything").
      const empty = await send(server.url, "POST", `${NEURONS}/query?app=natverse`, {
        token: writer,
        body: "",
        contentType: null,
      });
      assert.equal(empty.status, 400);
    });

    it("R7: writes 50 records with conditional=user, null values and designated_user", async () => {
      const list = Array.from({ length: 50 }, (_, i) => ({
        bodyid: 10001 + i,
        type: i === 0 ? "NEW" : `T${i}`,
        status: null,
        user: "annotator@example.org",
      }));
      const res = await send(
        server.url,
        "POST",
        `${NEURONS}?version=${TAG}&conditional=user&designated_user=annotator@example.org&app=natverse`,
        { token: writer, body: JSON.stringify(list) },
      );
      assert.equal(res.status, 200, res.text);
      assert.equal(res.text, "null");
      const read = await send(server.url, "GET", `${NEURONS}/id-number/10001,10050?show=user&app=natverse`, {
        token: writer,
      });
      assert.deepEqual(read.body, [
        {
          bodyid: 10001,
          type: "NEW",
          type_user: "annotator@example.org",
          status: null,
          status_user: "annotator@example.org",
          instance: "LC4_R",
          tags: ["visual"],
          user: "annotator@example.org",
        },
        {
          bodyid: 10050,
          type: "T49",
          type_user: "annotator@example.org",
          status: null,
          status_user: "annotator@example.org",
          user: "annotator@example.org",
        },
      ]);
      // A second write with protect (conditional=user) keeps the stored user.
      await send(
        server.url,
        "POST",
        `${NEURONS}?version=${TAG}&conditional=user&designated_user=&app=natverse`,
        {
          token: writer,
          body: JSON.stringify([{ bodyid: 10050, user: "other@example.org" }]),
        },
      );
      const kept = await send(server.url, "GET", `${NEURONS}/id-number/10050?app=natverse`, {
        token: writer,
      });
      assert.equal((kept.body as { user: string }[])[0]!.user, "annotator@example.org");
    });

    it("R8/R9: point annotations with groups, a typeless body and update=FALSE (replace=true&conditional=user)", async () => {
      const list = await send(server.url, "GET", `/v2/annotations/${DS}?groups=team&app=natverse`, {
        token: writer,
      });
      assert.equal(list.status, 200, list.text);
      const point = JSON.stringify({
        kind: "point",
        pos: [1, 2, 3],
        user: "writer@example.org",
        tags: ["soma"],
      });
      for (const q of ["replace=false&conditional=user", "replace=true&conditional=user"]) {
        const res = await send(server.url, "POST", `/v2/annotations/${DS}?${q}&app=natverse`, {
          token: writer,
          body: point,
          contentType: null,
        });
        assert.equal(res.status, 200, `${q}: ${res.text}`);
        assert.equal((res.body as { key: string }).key, "Pt1_2_3");
      }
    });
  });

  describe("schlegelp/clio-py (d84df22): app=clio-py on every call", () => {
    const q = "app=clio-py";

    it("S1/S2: Client() lists datasets and roles", async () => {
      assert.equal((await send(server.url, "GET", `/v2/datasets?${q}`, { token: writer })).status, 200);
      assert.equal((await send(server.url, "GET", `/v2/roles?${q}`, { token: writer })).status, 200);
    });

    it("S4: fields, versions, head_tag, head_uuid, tag_to_uuid, uuid_to_tag", async () => {
      const get = (p: string) => send(server.url, "GET", `${NEURONS}/${p}?${q}`, { token: writer });
      assert.ok(((await get("fields")).body as string[]).includes("type"));
      assert.deepEqual((await get("versions")).body, { [TAG]: "abc123" });
      assert.equal((await get("head_tag")).text, `"${TAG}"`);
      assert.equal((await get("head_uuid")).text, '"abc123"');
      assert.equal((await get(`tag_to_uuid/${TAG}`)).body, "abc123");
      assert.equal((await get("uuid_to_tag/abc123")).body, TAG);
      assert.equal((await get("fields/")).status, 200);
    });

    it("S5: query with show= and version=", async () => {
      const res = await send(server.url, "POST", `${NEURONS}/query?show=all&version=${TAG}&${q}`, {
        token: writer,
        body: JSON.stringify({ status: "Anchor", bodyid: [10001, 10002] }),
      });
      assert.deepEqual(ids(res), ["10001"]);
    });

    it("S6: writes to neurons?v1.2&app=clio-py (the version as a bare key) go to HEAD", async () => {
      const res = await send(server.url, "POST", `${NEURONS}?${TAG}&${q}`, {
        token: writer,
        body: JSON.stringify([
          { bodyid: 10002, type: "LC10a", notes: null },
          { bodyid: 10004, type: "new" },
        ]),
      });
      assert.equal(res.status, 200, res.text);
      const read = await send(server.url, "GET", `${NEURONS}/id-number/10002,10004?${q}`, { token: writer });
      assert.deepEqual(read.body, [
        { bodyid: 10002, type: "LC10a", status: "Roughly traced", notes: null },
        { bodyid: 10004, type: "new" },
      ]);
    });

    it("S7: point annotations with groups", async () => {
      const res = await send(server.url, "GET", `/v2/annotations/${DS}?groups=team&${q}`, { token: writer });
      assert.equal(res.status, 200, res.text);
    });
  });

  describe("janelia-flyem/clio-py (bf6a8bf): data=str bodies with no Content-Type", () => {
    it("P2: query", async () => {
      const res = await send(server.url, "POST", `${NEURONS}/query`, {
        token: writer,
        body: '{"bodyid": [10001, 10003]}',
        contentType: null,
      });
      assert.deepEqual(ids(res), ["10001", "10003"]);
    });

    it("P3: a point annotation", async () => {
      const res = await send(server.url, "POST", `/v2/annotations/${DS}`, {
        token: writer,
        body: '{"kind": "point", "pos": [4, 5, 6]}',
        contentType: null,
      });
      assert.equal(res.status, 200, res.text);
    });
  });

  describe("neuclease (e113d84)", () => {
    it("C3: fetch_json_annotations_all reads /all?show=user (trailing slash too)", async () => {
      for (const path of ["/all?show=user", "/all/?show=user"]) {
        const res = await send(server.url, "GET", `${NEURONS}${path}`, { token: tokens.admin });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-type")?.split(";")[0], "application/json");
        assert.deepEqual(ids(res), ["10001", "10002", "10003"]);
      }
    });
  });

  describe("coda (ClioTarget): app=coda", () => {
    it("D2: fields include stamp names once something was written", async () => {
      await send(server.url, "POST", `${NEURONS}?app=coda`, {
        token: writer,
        body: JSON.stringify({ bodyid: 10001, type: "LC4b" }),
      });
      const res = await send(server.url, "GET", `${NEURONS}/fields?app=coda`, { token: writer });
      for (const f of ["type", "type_user", "type_time"]) assert.ok((res.body as string[]).includes(f), f);
    });

    it("D3/D4: 500-id queries with ids spelled from text, and 50-record writes", async () => {
      const idsText = Array.from({ length: 500 }, (_, i) => `${9_007_199_254_740_993n + BigInt(i)}`);
      const body = `[${idsText
        .map((id, i) => `{"bodyid":${id},"n":${i}}`)
        .slice(0, 50)
        .join(",")}]`;
      const write = await send(server.url, "POST", `${NEURONS}?app=coda`, { token: writer, body });
      assert.equal(write.status, 200, write.text);
      const res = await send(server.url, "POST", `${NEURONS}/query?app=coda`, {
        token: writer,
        body: `{"bodyid":[${idsText.join(",")}]}`,
      });
      assert.equal(res.status, 200);
      assert.equal(
        res.text,
        `[${idsText
          .slice(0, 50)
          .map((id, i) => `{"bodyid":${id},"n":${i}}`)
          .join(",")}]`,
      );
    });
  });
});
