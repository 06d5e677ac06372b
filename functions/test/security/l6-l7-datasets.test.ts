/**
 * Security review L6 (private dataset ids enumerable by 404 vs 403) and L7 (a dataset admin moving
 * an admin-only, `{tag}`-templated field by editing `tag`).
 */
import assert from "node:assert/strict";
import { datasetsApi } from "../../src/api/datasets.js";
import { firestore } from "../../src/store/firebase.js";
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

describe("security L6/L7: datasets", () => {
  let server: TestServer;
  let tokens: Record<Persona, string | undefined>;
  const doc = () => firestore().collection("clio_datasets").doc(PRIVATE_DS);

  before(async () => {
    server = await serve(datasetsApi);
    tokens = await personaTokens();
  });
  after(() => server.close());
  beforeEach(async () => {
    await clearFirestore();
    await seedPersonas();
    server.deps.users.invalidate();
    server.deps.datasets.invalidate();
  });

  it("L6: a stranger gets the same answer for a private dataset as for a free id", async () => {
    const get = (id: string) =>
      call<{ code: string; detail: string }>(server.url, "GET", `/v2/datasets/${id}`, {
        token: tokens.unknown,
      });
    const hidden = await get(PRIVATE_DS);
    const free = await get("no-such-dataset");
    // The route's declared can_read answers 403 for both, before anything is looked up.
    assert.equal(hidden.status, 403);
    assert.equal(free.status, 403);
    assert.equal(
      hidden.body.detail.replace(PRIVATE_DS, "X"),
      free.body.detail.replace("no-such-dataset", "X"),
    );
  });

  it("L7: a dataset admin cannot move a {tag}-templated location by editing tag", async () => {
    const stored = {
      description: "a private dataset",
      tag: "v1.2",
      uuid: "abc123",
      location: "precomputed://gs://demo-bucket/private-ds/{tag}/grayscale",
    };
    await doc().set(stored);
    server.deps.datasets.invalidate();
    const attack = await call<{ detail: string }>(server.url, "PUT", "/v2/datasets", {
      token: tokens.datasetAdmin,
      body: { [PRIVATE_DS]: { ...stored, tag: "v1.2/../../other-ds/v9" } },
    });
    assert.equal(attack.status, 403);
    assert.match(attack.body.detail, /Only admins can change location/);
    assert.deepEqual((await doc().get()).data(), stored);
  });

  it("L7: tag and uuid may not hold path characters, even where nothing is templated", async () => {
    for (const field of ["tag", "uuid"]) {
      const res = await call<{ detail: string }>(server.url, "PUT", "/v2/datasets", {
        token: tokens.datasetAdmin,
        body: {
          [PRIVATE_DS]: { description: "a private dataset", tag: "v1.2", uuid: "abc123", [field]: "v9/../x" },
        },
      });
      assert.equal(res.status, 400, field);
      assert.match(res.body.detail, new RegExp(field));
    }
    assert.deepEqual((await doc().get()).data(), {
      description: "a private dataset",
      tag: "v1.2",
      uuid: "abc123",
    });
  });
});
