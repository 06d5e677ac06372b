/**
 * Security review L5: `GET /v2/catalog/index` told every signed-in user which admin rebuilt the
 * index (`trigger: "admin:<email>"`) and where the blob lives.
 */
import assert from "node:assert/strict";
import { catalogAdminApi } from "../../src/api/catalog.js";
import { INDEX_COLLECTION, INDEX_POINTER_DOC } from "../../src/services/catalog/search-index.js";
import { firestore } from "../../src/store/firebase.js";
import {
  call,
  personaTokens,
  seedPersonas,
  serve,
  type Persona,
  type TestServer,
} from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";

const POINTER = {
  bucket: "catalog-bucket",
  object: "catalog/search-index/123.bin",
  generation: "123",
  md5: "abc",
  records: 10,
  bytes: 2048,
  builtAt: "2026-11-30T12:00:00.000Z",
  startedAt: "2026-11-30T11:59:59.000Z",
  buildMs: 900,
  trigger: "admin:admin@example.org",
};

describe("security L5: catalog index pointer", () => {
  let server: TestServer;
  let tokens: Record<Persona, string | undefined>;
  before(async () => {
    server = await serve(catalogAdminApi);
    tokens = await personaTokens();
  });
  after(() => server.close());
  beforeEach(async () => {
    await clearFirestore();
    await seedPersonas();
    server.deps.users.invalidate();
    await firestore().collection(INDEX_COLLECTION).doc(INDEX_POINTER_DOC).set(POINTER);
  });

  it("a signed-in stranger sees no admin email, bucket or object", async () => {
    const res = await call<Record<string, unknown>>(server.url, "GET", "/v2/catalog/index", {
      token: tokens.unknown,
    });
    assert.equal(res.status, 200);
    assert.doesNotMatch(res.text, /admin@example\.org|catalog-bucket|search-index/);
    assert.equal(res.body.records, 10);
  });

  it("an admin sees the whole pointer", async () => {
    const res = await call<Record<string, unknown>>(server.url, "GET", "/v2/catalog/index", {
      token: tokens.admin,
    });
    assert.deepEqual(res.body, POINTER);
  });
});
