/** Rate limits per principal and class, and the daily quota of costly calls shared by instances. */
import assert from "node:assert/strict";
import { filesApi } from "../../src/api/files.js";
import { rolesApi } from "../../src/api/roles.js";
import { QUOTA } from "../../src/store/quota.js";
import { firestore } from "../../src/store/firebase.js";
import { apiToken, call, PERSONAS, PRIVATE_DS, resetToSeed } from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";
import {
  NWB,
  seedDatasetFiles,
  seedObjects,
  startFilesFixture,
  type FilesFixture,
} from "../files/fixture.js";
import { seedPersonas } from "../helpers/server.js";
import { clock, instance, type Instance } from "../keys/helpers.js";

const LONG = 3 * 86_400;

describe("rate limits", () => {
  const at = clock();
  let api: Instance;
  let reader: string;

  before(async () => {
    api = await instance(rolesApi, { rateLimits: "read=5,anonymous=2" }, at);
    reader = await apiToken(PERSONAS.reader, { expiresIn: LONG });
  });
  after(() => api.close());
  beforeEach(async () => {
    // A minute later every bucket of this instance is full again.
    at.advance(60);
    await resetToSeed();
  });

  it("answers a burst over the limit with 429 and Retry-After, and RateLimit headers throughout", async () => {
    const remaining: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await call(api.url, "GET", "/v2/roles", { token: reader });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("ratelimit-limit"), "5");
      remaining.push(res.headers.get("ratelimit-remaining")!);
    }
    assert.deepEqual(remaining, ["4", "3", "2", "1", "0"]);
    const refused = await call<{ code: string; detail: string }>(api.url, "GET", "/v2/roles", {
      token: reader,
    });
    assert.equal(refused.status, 429);
    assert.equal(refused.body.code, "resource_exhausted");
    const retry = Number(refused.headers.get("retry-after"));
    assert.ok(retry >= 1 && retry <= 12, `Retry-After ${retry}`);
    assert.equal(refused.headers.get("ratelimit-remaining"), "0");

    at.advance(retry);
    assert.equal(
      (await call(api.url, "GET", "/v2/roles", { token: reader })).status,
      200,
      "after Retry-After",
    );
  });

  it("limits each principal separately, and unknown signed-in users at the anonymous rate", async () => {
    const stranger = await apiToken(PERSONAS.unknown, { expiresIn: LONG });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await call(api.url, "GET", "/v2/roles", { token: stranger })).status);
    assert.deepEqual(statuses, [200, 200, 429]);
    const res = await call(api.url, "GET", "/v2/roles", { token: reader });
    assert.equal(res.status, 200, "the reader has their own bucket");
    assert.equal(res.headers.get("ratelimit-limit"), "5");
  });
});

describe("daily quota of costly calls across instances", () => {
  const at = clock();
  let fx: FilesFixture;
  let a: Instance;
  let b: Instance;
  let reader: string;

  before(async () => {
    fx = await startFilesFixture();
    const overrides = {
      storageApiEndpoint: fx.api.deps.config.storageApiEndpoint,
      storageSignerKeyFile: fx.api.deps.config.storageSignerKeyFile,
      rateLimits: "costly=3",
    };
    a = await instance(filesApi, overrides, at);
    b = await instance(filesApi, overrides, at);
    reader = await apiToken(PERSONAS.reader, { expiresIn: LONG });
  });
  after(async () => {
    await a.close();
    await b.close();
    await fx.close();
  });
  beforeEach(async () => {
    // Noon (UTC) tomorrow: 12 h before the quota's day ends, and still in the future for the
    // signed URLs the storage server checks against the real clock.
    const noon = new Date();
    noon.setUTCHours(36, 0, 0, 0);
    at.ms = noon.getTime();
    await clearFirestore();
    await seedPersonas();
    await seedDatasetFiles();
    await seedObjects(fx);
  });

  const sign = (on: Instance, token = reader) =>
    call<{ files: unknown[] }>(on.url, "POST", `/v2/files/${PRIVATE_DS}/sign`, {
      token,
      body: { paths: [NWB] },
    });

  it("shares one counter between two instances and refuses the fourth call on either", async () => {
    const got: [number, string | null][] = [];
    for (const on of [a, b, a]) {
      const res = await sign(on);
      got.push([res.status, res.headers.get("ratelimit-remaining")]);
      assert.equal(res.body.files.length, 1);
    }
    assert.deepEqual(got, [
      [200, "2"],
      [200, "1"],
      [200, "0"],
    ]);
    for (const on of [b, a]) {
      const res = await sign(on);
      assert.equal(res.status, 429);
      assert.equal(res.headers.get("retry-after"), String(12 * 3600), "until the next UTC midnight");
      assert.equal(res.headers.get("ratelimit-policy"), "3;w=86400");
    }
    const counters = await firestore().collection(QUOTA).get();
    assert.deepEqual(
      counters.docs.map((d) => d.get("count") as number),
      [3],
    );
    const writer = await apiToken(PERSONAS.writer, { expiresIn: LONG });
    assert.equal((await sign(b, writer)).status, 200, "another principal has its own quota");

    at.advance(12 * 3600);
    assert.equal((await sign(b)).status, 200, "a new day");
  });

  it("leaves cheap reads of the same principal alone", async () => {
    for (let i = 0; i < 3; i++) await sign(a);
    const res = await call(a.url, "GET", `/v2/files/${PRIVATE_DS}/${NWB}?signed=json`, { token: reader });
    assert.equal(res.status, 200, res.text);
  });
});
