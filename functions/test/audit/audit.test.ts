/** The audit trail: an entry per successful mutation, admins read it paged. */
import assert from "node:assert/strict";
import { apiGroups } from "../../src/api/groups.js";
import {
  apiToken,
  call,
  PERSONAS,
  PRIVATE_DS,
  resetToSeed,
  serve,
  type TestServer,
} from "../helpers/server.js";
import { mint } from "../keys/helpers.js";
import { auditEntries, seedAtlasPoint } from "./helpers.js";

interface Entry {
  id: string;
  actor: string;
  action: string;
  keyId: string | null;
  datasets: string[];
  before: string | null;
  after: string | null;
  path: string;
  status: number;
}

describe("audit trail", () => {
  let api: TestServer;
  const tokens: Record<string, string> = {};

  before(async () => {
    api = await serve(apiGroups);
    for (const p of ["reader", "writer", "datasetAdmin", "admin"] as const)
      tokens[p] = await apiToken(PERSONAS[p]);
  });
  after(() => api.close());
  beforeEach(() => resetToSeed(api));

  const trail = async (): Promise<Entry[]> => {
    const res = await call<Entry[]>(api.url, "GET", "/v2/audit?limit=1000", { token: tokens.admin });
    assert.equal(res.status, 200, res.text);
    return res.body;
  };

  it("records who, what, when, which key and digests for every kind of mutation", async () => {
    await seedAtlasPoint("p");
    const key = await mint(api.url, tokens.reader, {
      name: "w",
      datasets: [PRIVATE_DS],
      role: "clio_general",
    });
    const steps: [string, string, string, unknown, string, string[]][] = [
      ["admin", "POST", "/v2/users", { "new@example.org": { groups: ["lab"] } }, "users.write", []],
      [
        "datasetAdmin",
        "POST",
        "/v2/datasets",
        { [PRIVATE_DS]: { description: "x", tag: "v1.3" } },
        "datasets.write",
        [PRIVATE_DS],
      ],
      [
        "reader",
        "POST",
        `/v2/annotations/${PRIVATE_DS}`,
        { kind: "point", pos: [1, 2, 3] },
        "annotations.write",
        [PRIVATE_DS],
      ],
      [
        "reader",
        "POST",
        `/annotations/${PRIVATE_DS}?x=1&y=2&z=3`,
        { foo: "bar" },
        "json-annotations.write",
        [PRIVATE_DS],
      ],
      ["writer", "POST", "/v2/atlas-verify/p", undefined, "atlas.verify", [PRIVATE_DS]],
      ["reader", "POST", "/v2/kv/s/k", { a: 1 }, "kv.write", []],
      ["reader", "DELETE", "/v2/kv/s/k", undefined, "kv.delete", []],
      ["key", "POST", "/v2/kv/s/k2", { b: 2 }, "kv.write", []],
      ["admin", "POST", "/v2/catalog/harvest/modeldb", { wait: false }, "harvest.control", []],
      ["reader", "DELETE", `/v2/keys/${key.id}`, undefined, "keys.revoke", [PRIVATE_DS]],
    ];
    for (const [who, method, path, body] of steps) {
      const token = who === "key" ? key.key : tokens[who];
      const res = await call(api.url, method, path, { token, body });
      assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${res.text}`);
    }
    const entries = await trail();
    assert.deepEqual(
      entries.map((e) => e.action),
      ["keys.create", ...steps.map((s) => s[4])],
    );
    entries.slice(1).forEach((e, i) => {
      const [who, , path, body, , datasets] = steps[i]!;
      assert.equal(e.actor, who === "key" ? PERSONAS.reader : PERSONAS[who as "reader"], e.action);
      assert.equal(e.path, path.split("?")[0]);
      assert.deepEqual(e.datasets, datasets, e.action);
      assert.equal(e.keyId, who === "key" ? key.id : null, e.action);
      if (body !== undefined) assert.match(e.after ?? "", /^[0-9a-f]{64}$/, e.action);
    });
    const revoke = entries.at(-1)!;
    assert.ok(revoke.before && revoke.after && revoke.before !== revoke.after, "revocation digests differ");
    assert.ok(!JSON.stringify(entries).includes(key.key), "never the key itself");
  });

  it("writes no entry for a refused or invalid mutation", async () => {
    const refused = await call(api.url, "POST", "/v2/users", {
      token: tokens.reader,
      body: { "x@example.org": {} },
    });
    assert.equal(refused.status, 403);
    const invalid = await call(api.url, "POST", "/v2/kv/s/k", { token: tokens.reader, body: "[1]" });
    assert.equal(invalid.status, 400);
    assert.deepEqual(await auditEntries(), []);
  });

  it("pages the trail for admins only, with no gaps or duplicates", async () => {
    for (let i = 0; i < 7; i++)
      await call(api.url, "POST", `/v2/kv/s/k${i}`, { token: tokens.reader, body: { i } });
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : "";
      const res = await call<Entry[]>(api.url, "GET", `/v2/audit?limit=3${q}`, { token: tokens.admin });
      assert.equal(res.status, 200);
      ids.push(...res.body.map((e) => e.path));
      cursor = res.headers.get("x-next-cursor");
    } while (cursor);
    assert.deepEqual(
      ids,
      [0, 1, 2, 3, 4, 5, 6].map((i) => `/v2/kv/s/k${i}`),
    );
    for (const who of ["reader", "datasetAdmin"]) {
      const res = await call(api.url, "GET", "/v2/audit", { token: tokens[who] });
      assert.equal(res.status, 403, who);
    }
  });
});
