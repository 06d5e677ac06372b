/**
 * Security review M4: a dataset admin redirecting a dataset's client data sources (`dvid`, layer
 * `source`) to a host of theirs, where viewers' tokens would go. Dataset admins may add only
 * hosts on DATASET_SOURCE_HOSTS (none by default); hosts already there stay editable around,
 * and global admins may name any host.
 */
import assert from "node:assert/strict";
import { datasetsApi } from "../../src/api/datasets.js";
import { firestore } from "../../src/store/firebase.js";
import {
  apiToken,
  call,
  PERSONAS,
  PRIVATE_DS,
  resetToSeed,
  serve,
  type TestServer,
} from "../helpers/server.js";

const seeded = {
  description: "a private dataset",
  tag: "v1.2",
  uuid: "abc123",
  dvid: "https://dvid.example.org",
  neuroglancer: {
    layers: [
      {
        name: "segmentation",
        type: "segmentation",
        source: { url: "dvid://https://dvid.example.org/{uuid}/segmentation" },
      },
    ],
  },
};

describe("security M4: dataset admins cannot redirect client data sources", () => {
  let closed: TestServer;
  let listed: TestServer;
  let dsAdmin: string;
  let admin: string;
  const stored = async () => (await firestore().collection("clio_datasets").doc(PRIVATE_DS).get()).data();

  before(async () => {
    closed = await serve(datasetsApi);
    listed = await serve(datasetsApi, { datasetSourceHosts: ".example.org, emdata.janelia.org:8900" });
    dsAdmin = await apiToken(PERSONAS.datasetAdmin);
    admin = await apiToken(PERSONAS.admin);
  });
  after(async () => {
    await closed.close();
    await listed.close();
  });
  beforeEach(async () => {
    await resetToSeed(closed, listed);
    await firestore().collection("clio_datasets").doc(PRIVATE_DS).set(seeded);
    closed.deps.datasets.invalidate();
    listed.deps.datasets.invalidate();
  });

  const put = (server: TestServer, token: string, doc: object) =>
    call<{ detail: string }>(server.url, "PUT", "/v2/datasets", { token, body: { [PRIVATE_DS]: doc } });

  const attacks: [string, object][] = [
    ["dvid", { ...seeded, dvid: "https://attacker.example" }],
    [
      "layer source",
      {
        ...seeded,
        neuroglancer: {
          layers: [
            {
              name: "segmentation",
              type: "segmentation",
              source: { url: "dvid://https://attacker.example/x/seg" },
            },
          ],
        },
      },
    ],
    ["userinfo trick", { ...seeded, dvid: "https://dvid.example.org@attacker.example/" }],
    ["bare dvid host", { ...seeded, dvid: "attacker.example:8000" }],
    ["a new layer", { ...seeded, orderedLayers: [{ source: "precomputed://https://attacker.example/em" }] }],
  ];

  for (const [what, doc] of attacks) {
    it(`refuses the review's request (${what}) with 403 naming the param, nothing written`, async () => {
      for (const server of [closed, listed]) {
        const res = await put(server, dsAdmin, doc);
        assert.equal(res.status, 403, `${what}: ${res.status} ${res.text}`);
        assert.match(res.body.detail, /attacker\.example/);
        assert.match(res.body.detail, /DATASET_SOURCE_HOSTS/);
        assert.deepEqual(await stored(), seeded);
      }
    });
  }

  it("lets dataset admins keep existing hosts and add listed ones; admins add any", async () => {
    const edited = { ...seeded, description: "edited", tag: "v1.3" };
    assert.equal((await put(closed, dsAdmin, edited)).status, 200, "existing hosts stay");
    const moved = { ...edited, dvid: "https://dvid2.example.org" };
    assert.equal((await put(closed, dsAdmin, moved)).status, 403, "no allow-list: no new host");
    assert.equal((await put(listed, dsAdmin, moved)).status, 200, "a listed subdomain");
    assert.equal((await put(listed, dsAdmin, { ...moved, dvid: "emdata.janelia.org:8900" })).status, 200);
    assert.equal(
      (await put(listed, dsAdmin, { ...moved, dvid: "https://example.org.attacker.example" })).status,
      403,
    );
    const byAdmin = { ...moved, dvid: "https://attacker.example" };
    assert.equal((await put(closed, admin, byAdmin)).status, 200, "global admins are trusted");
    assert.equal((await stored())?.dvid, "https://attacker.example");
  });

  it("refuses a malformed DATASET_SOURCE_HOSTS naming the param", async () => {
    await assert.rejects(
      () => serve(datasetsApi, { datasetSourceHosts: "https://x.org/" }),
      /DATASET_SOURCE_HOSTS/,
    );
  });
});
