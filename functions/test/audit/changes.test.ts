/** GET /v2/datasets/{id}/changes: a dataset admin follows their dataset's changes by cursor. */
import assert from "node:assert/strict";
import { apiGroups } from "../../src/api/groups.js";
import {
  apiToken,
  call,
  PERSONAS,
  PRIVATE_DS,
  PUBLIC_DS,
  resetToSeed,
  serve,
  type TestServer,
} from "../helpers/server.js";

interface Feed {
  changes: { seq: number; action: string; actor: string; datasets: string[]; path: string }[];
  cursor: string;
}

describe("dataset change feed", () => {
  let api: TestServer;
  let second: TestServer;
  let reader: string;
  let writer: string;
  let dsadmin: string;

  before(async () => {
    api = await serve(apiGroups);
    second = await serve(apiGroups);
    reader = await apiToken(PERSONAS.reader);
    writer = await apiToken(PERSONAS.writer);
    dsadmin = await apiToken(PERSONAS.datasetAdmin);
  });
  after(async () => {
    await api.close();
    await second.close();
  });
  beforeEach(() => resetToSeed(api, second));

  const annotate = (on: TestServer, token: string, ds: string, i: number) =>
    call(on.url, "POST", `/v2/annotations/${ds}`, { token, body: { kind: "point", pos: [i, i, i] } });

  const follow = async (limit: number, since?: string) => {
    const seqs: number[] = [];
    let cursor = since;
    for (;;) {
      const q = cursor ? `&since=${cursor}` : "";
      const res = await call<Feed>(api.url, "GET", `/v2/datasets/${PRIVATE_DS}/changes?limit=${limit}${q}`, {
        token: dsadmin,
      });
      assert.equal(res.status, 200, res.text);
      for (const c of res.body.changes) {
        assert.deepEqual(c.datasets, [PRIVATE_DS]);
        seqs.push(c.seq);
      }
      cursor = res.body.cursor;
      if (res.body.changes.length === 0) return { seqs, cursor };
    }
  };

  it("pages concurrent writes from two instances with no gaps or duplicates, and resumes from its cursor", async () => {
    // 24 writes to the dataset at once, half through each instance, with writes to another dataset mixed in.
    await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        Promise.all([
          annotate(i % 2 ? api : second, i % 3 ? reader : writer, PRIVATE_DS, i),
          i % 4 === 0 ? annotate(api, reader, PUBLIC_DS, i) : Promise.resolve(),
        ]),
      ),
    );
    const first = await follow(5);
    assert.deepEqual(
      first.seqs,
      Array.from({ length: 24 }, (_, i) => i + 1),
    );

    await annotate(api, reader, PRIVATE_DS, 100);
    await annotate(second, writer, PRIVATE_DS, 101);
    const next = await follow(5, first.cursor);
    assert.deepEqual(next.seqs, [25, 26], "only what came after the cursor");
  });

  it("is for the dataset's admins and admins only, and refuses a forged cursor", async () => {
    await annotate(api, reader, PRIVATE_DS, 1);
    for (const [token, status] of [
      [reader, 403],
      [writer, 403],
      [await apiToken(PERSONAS.admin), 200],
      [dsadmin, 200],
    ] as const) {
      const res = await call(api.url, "GET", `/v2/datasets/${PRIVATE_DS}/changes`, { token });
      assert.equal(res.status, status);
    }
    const other = await call(api.url, "GET", `/v2/datasets/${PUBLIC_DS}/changes`, { token: dsadmin });
    assert.equal(other.status, 403, "not another dataset");
    const forged = await call<{ detail: string }>(
      api.url,
      "GET",
      `/v2/datasets/${PRIVATE_DS}/changes?since=abc`,
      {
        token: dsadmin,
      },
    );
    assert.equal(forged.status, 400);
    assert.match(forged.body.detail, /cursor/);
  });
});
