/**
 * Per-user storage caps per dataset (USER_STORAGE_CAPS): annotations v2 and v1, atlas points and
 * saved searches. The attack is one account planting documents without end; past the cap a new
 * document is a 429 naming the cap, nothing is written, and overwriting what exists still works.
 */
import assert from "node:assert/strict";
import { apiGroups } from "../../src/api/groups.js";
import { ANNOTATIONS_V1 } from "../../src/services/annotations-v1.js";
import { ANNOTATIONS_V2 } from "../../src/services/annotations.js";
import { ATLAS_PATH } from "../../src/services/atlas.js";
import { SAVEDSEARCHES_PATH } from "../../src/services/savedsearches.js";
import { firestore } from "../../src/store/firebase.js";
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

const CAP = 3;

describe("per-user storage caps per dataset", () => {
  let api: TestServer;
  let reader: string;
  let writer: string;
  before(async () => {
    api = await serve(apiGroups, {
      userStorageCaps: `annotations=${CAP},annotationsv1=${CAP},atlas=${CAP},savedsearches=${CAP}`,
    });
    reader = await apiToken(PERSONAS.reader);
    writer = await apiToken(PERSONAS.writer);
  });
  after(() => api.close());
  beforeEach(() => resetToSeed(api));

  const post = (path: string, body: unknown, token = reader) =>
    call<{ detail: string; code: string }>(api.url, "POST", path, { token, body });
  const point = (x: number) => ({ kind: "point", pos: [x, 0, 0], prop: { note: "x".repeat(100) } });
  const v2Keys = async (owner: string, dataset = PRIVATE_DS) =>
    (await firestore().collection(ANNOTATIONS_V2).doc(dataset).collection(owner).listDocuments())
      .map((d) => d.id)
      .sort();
  const countWhere = async (path: string, field: string, owner: string) =>
    (await firestore().collection(path).where(field, "==", owner).get()).size;

  function assertOverCap(res: { status: number; body: { detail: string } }, store: string) {
    assert.equal(res.status, 429, JSON.stringify(res.body));
    assert.match(res.body.detail, new RegExp(`USER_STORAGE_CAPS ${store}=${CAP}`));
  }

  it("v2 annotations: a list that would pass the cap is refused whole; overwrites and other datasets are fine", async () => {
    assert.equal((await post(`/v2/annotations/${PRIVATE_DS}`, [point(1), point(2)])).status, 200);
    assertOverCap(await post(`/v2/annotations/${PRIVATE_DS}`, [point(3), point(4)]), "annotations");
    assert.deepEqual(await v2Keys(PERSONAS.reader), ["Pt1_0_0", "Pt2_0_0"], "nothing of the list written");
    // Two existing keys and one new one make three: fits.
    const ok = await post(`/v2/annotations/${PRIVATE_DS}`, [point(1), point(2), point(3)]);
    assert.equal(ok.status, 200, ok.text);
    assertOverCap(await post(`/v2/annotations/${PRIVATE_DS}?replace=false`, point(4)), "annotations");
    assert.equal((await post(`/v2/annotations/${PRIVATE_DS}`, point(2))).status, 200, "overwrite at the cap");
    assert.equal((await post(`/v2/annotations/${PUBLIC_DS}`, point(9))).status, 200, "per dataset");
    assert.equal(
      (await call(api.url, "DELETE", `/v2/annotations/${PRIVATE_DS}/Pt1_0_0`, { token: reader })).status,
      200,
    );
    assert.equal((await post(`/v2/annotations/${PRIVATE_DS}`, point(4))).status, 200, "room after a delete");
    assert.deepEqual(await v2Keys(PERSONAS.reader), ["Pt2_0_0", "Pt3_0_0", "Pt4_0_0"]);
  });

  it("v2 annotations: the cap is the owner's, also when a writer posts for them", async () => {
    for (const x of [1, 2, 3])
      assert.equal((await post(`/v2/annotations/${PRIVATE_DS}`, point(x))).status, 200);
    assertOverCap(
      await post(`/v2/annotations/${PRIVATE_DS}`, { ...point(7), user: PERSONAS.reader }, writer),
      "annotations",
    );
    assert.equal((await v2Keys(PERSONAS.reader)).length, CAP);
    assert.equal((await post(`/v2/annotations/${PRIVATE_DS}`, point(7), writer)).status, 200, "writer's own");
  });

  it("v1 annotations, atlas points and saved searches refuse a new location past the cap", async () => {
    const stores = [
      {
        path: `/annotations/${PRIVATE_DS}`,
        body: { a: 1 },
        store: "annotationsv1",
        coll: ANNOTATIONS_V1 + "/USER/annotations",
        field: "email",
      },
      {
        path: `/v2/atlas/${PRIVATE_DS}`,
        body: { title: "t", user: PERSONAS.reader },
        store: "atlas",
        coll: ATLAS_PATH,
        field: "user",
      },
      {
        path: `/v2/savedsearches/${PRIVATE_DS}`,
        body: { q: 1 },
        store: "savedsearches",
        coll: SAVEDSEARCHES_PATH,
        field: "email",
      },
    ];
    for (const s of stores) {
      for (const x of [1, 2, 3]) {
        const res = await post(`${s.path}?x=${x}&y=0&z=0`, s.body);
        assert.equal(res.status, 200, `${s.store}: ${res.text}`);
      }
      assertOverCap(await post(`${s.path}?x=4&y=0&z=0`, s.body), s.store);
      assert.equal(await countWhere(s.coll, s.field, PERSONAS.reader), CAP, `${s.store}: nothing written`);
      const again = await post(`${s.path}?x=2&y=0&z=0`, { ...s.body, changed: true });
      assert.equal(again.status, 200, `${s.store}: overwriting at the cap`);
    }
  });

  it("a malformed USER_STORAGE_CAPS names the param", async () => {
    await assert.rejects(() => serve(apiGroups, { userStorageCaps: "atlas=0" }), /USER_STORAGE_CAPS/);
  });
});
