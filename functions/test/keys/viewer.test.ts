/** Viewer tokens: at most 1 h, read-only, one dataset; /v2/files signed links work with them. */
import assert from "node:assert/strict";
import { keysApi } from "../../src/api/keys.js";
import {
  apiToken,
  call,
  PERSONAS,
  PRIVATE_DS,
  PUBLIC_DS,
  seedPersonas,
  serve,
  type TestServer,
} from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";
import {
  NWB,
  seedDatasetFiles,
  seedObjects,
  startFilesFixture,
  type FilesFixture,
} from "../files/fixture.js";
import { mint, snapshotAll } from "./helpers.js";

describe("viewer tokens", () => {
  let fx: FilesFixture;
  let keys: TestServer;
  let reader: string;

  before(async () => {
    fx = await startFilesFixture({ signedUrlSeconds: 600 });
    keys = await serve(keysApi);
    reader = await apiToken(PERSONAS.reader);
  });
  after(async () => {
    await keys.close();
    await fx.close();
  });
  beforeEach(async () => {
    await clearFirestore();
    await seedPersonas();
    await seedDatasetFiles();
    await seedObjects(fx);
    fx.api.deps.datasets.invalidate();
    fx.api.deps.users.invalidate();
  });

  it("opens the dataset's files through a signed link, and nothing else", async () => {
    const viewer = await mint(keys.url, reader, { dataset: PRIVATE_DS }, "/v2/keys/viewer");
    assert.match(viewer.key, /^nfv_/);
    assert.equal(viewer.role, "clio_read");
    const minutes = (Date.parse(viewer.expires) - Date.now()) / 60_000;
    assert.ok(minutes > 59 && minutes <= 60, `${minutes} minutes`);

    const res = await fetch(`${fx.api.url}/v2/files/${PRIVATE_DS}/${NWB}`, {
      headers: { authorization: `Bearer ${viewer.key}` },
      redirect: "manual",
    });
    assert.equal(res.status, 302);
    const bytes = await fetch(res.headers.get("location")!, { headers: { range: "bytes=0-3" } });
    assert.equal(bytes.status, 206);
    assert.deepEqual(Buffer.from(await bytes.arrayBuffer()), fx.nwbBytes.subarray(0, 4));

    const other = await call(fx.api.url, "GET", `/v2/files/${PUBLIC_DS}/open/readme.txt?signed=json`, {
      token: viewer.key,
    });
    assert.equal(other.status, 403, "another (even public) dataset");
    const upload = await call(fx.api.url, "POST", `/v2/files/${PRIVATE_DS}/uploads`, {
      token: viewer.key,
      body: { path: "x.txt" },
    });
    assert.equal(upload.status, 403, "no writes");
  });

  it("refuses a lifetime over 1 h, a dataset the user cannot read, and minting with a key", async () => {
    const before = await snapshotAll();
    const tooLong = await call<{ detail: string }>(keys.url, "POST", "/v2/keys/viewer", {
      token: reader,
      body: { dataset: PRIVATE_DS, expiresInSeconds: 3601 },
    });
    assert.equal(tooLong.status, 400);
    assert.match(tooLong.body.detail, /expiresInSeconds/);
    const stranger = await call<{ detail: string }>(keys.url, "POST", "/v2/keys/viewer", {
      token: await apiToken(PERSONAS.unknown),
      body: { dataset: PRIVATE_DS },
    });
    assert.equal(stranger.status, 403);
    assert.match(stranger.body.detail, /cannot read dataset private-ds/);
    assert.deepEqual(await snapshotAll(), before, "nothing written");
    const viewer = await mint(keys.url, reader, { dataset: PRIVATE_DS }, "/v2/keys/viewer");
    const chained = await call(keys.url, "POST", "/v2/keys/viewer", {
      token: viewer.key,
      body: { dataset: PRIVATE_DS },
    });
    assert.equal(chained.status, 403);
  });
});
