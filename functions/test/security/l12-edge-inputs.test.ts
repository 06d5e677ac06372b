/**
 * Security review L12 (the parts in this area): Firestore-reserved catalog ids and forged atlas
 * cursors answered 500; they are now a plain 404 / 400.
 */
import assert from "node:assert/strict";
import { atlasApi } from "../../src/api/atlas.js";
import { catalogApi } from "../../src/api/catalog.js";
import { encodeCursor } from "../../src/http/paging.js";
import { catalogDocId } from "../../src/schemas/catalog.js";
import {
  call,
  personaTokens,
  seedPersonas,
  serve,
  type Persona,
  type TestServer,
} from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";

describe("security L12: edge inputs answer 4xx, not 500", () => {
  let server: TestServer;
  let tokens: Record<Persona, string | undefined>;
  before(async () => {
    server = await serve([atlasApi, catalogApi]);
    tokens = await personaTokens();
  });
  after(() => server.close());
  beforeEach(async () => {
    await clearFirestore();
    await seedPersonas();
    server.deps.users.invalidate();
  });

  it("GET /v2/catalog/records/__abc__ is a 404", async () => {
    for (const id of ["__abc__", "..", "."]) {
      const res = await call(server.url, "GET", `/v2/catalog/records/${encodeURIComponent(id)}`, {
        token: tokens.reader,
      });
      assert.ok(res.status === 404 || res.status === 400, `${id}: ${res.status} ${res.text}`);
    }
    assert.equal(catalogDocId("__abc__"), "%5F_abc__");
    assert.equal(catalogDocId("neuromorpho:a/b"), "neuromorpho:a%2Fb");
  });

  it("a forged /v2/atlas/all cursor whose position holds / is a 400", async () => {
    const res = await call<{ detail: string }>(
      server.url,
      "GET",
      `/v2/atlas/all?limit=5&cursor=${encodeCursor("0:a/b")}`,
      { token: tokens.reader },
    );
    assert.equal(res.status, 400);
    assert.match(res.body.detail, /cursor/i);
  });
});
