import assert from "node:assert/strict";
import { ZARR_CHUNK, zarrValue } from "../../loopback/zarr-seed.js";
import { checkMatrix } from "../helpers/matrix.js";
import { call, personaTokens, PRIVATE_DS, PUBLIC_DS, resetToSeed, type Persona } from "../helpers/server.js";
import { mint, snapshotAll } from "../keys/helpers.js";
import {
  OTHER_BUCKET,
  seedCredentialObjects,
  startCredentialsFixture,
  ZARR_OBJECT,
  type CredentialsFixture,
} from "./credentials-fixture.js";
import { BUCKET, seedDatasetFiles } from "./fixture.js";

interface Credentials {
  access_token: string;
  token_type: string;
  expires_at: string;
  access: "read" | "write";
  bucket: string;
  prefix: string;
  storage_url: string;
}

describe("files credentials (downscoped Cloud Storage tokens)", () => {
  let fx: CredentialsFixture;
  let tokens: Record<Persona, string | undefined>;

  before(async () => {
    fx = await startCredentialsFixture();
    tokens = await personaTokens();
  });
  after(() => fx.close());
  beforeEach(async () => {
    fx.setClockOffset(0);
    await resetToSeed(fx.api);
    await seedDatasetFiles();
    await seedCredentialObjects(fx);
    fx.api.deps.datasets.invalidate();
  });

  const credentials = async (token: string | undefined, body: object = {}, dataset = PRIVATE_DS) => {
    const res = await call<Credentials>(fx.api.url, "POST", `/v2/files/${dataset}/credentials`, {
      token,
      body,
    });
    assert.equal(res.status, 200, res.text);
    return res.body;
  };

  /** A Cloud Storage XML API request with the token, as a browser zarr reader sends it. */
  const gcs = (c: Credentials, method: string, bucket: string, object: string, init: RequestInit = {}) =>
    fetch(`${c.storage_url}/${bucket}/${object.split("/").map(encodeURIComponent).join("/")}`, {
      ...init,
      method,
      headers: { authorization: `Bearer ${c.access_token}`, ...(init.headers as Record<string, string>) },
    });

  it("gives a reader an hour-long read token for the dataset's prefix that reads the zarr array", async () => {
    const before = Date.now();
    const c = await credentials(tokens.reader);
    assert.equal(c.token_type, "Bearer");
    assert.equal(c.access, "read");
    assert.equal(c.bucket, BUCKET);
    assert.equal(c.prefix, `${PRIVATE_DS}/`);
    assert.equal(c.storage_url, fx.gcs.url);
    const life = Date.parse(c.expires_at) - before;
    assert.ok(life > 55 * 60_000 && life <= 3600_000 + 5_000, `lifetime ${life} ms`);

    const meta = await gcs(c, "GET", BUCKET, `${ZARR_OBJECT}/zarr.json`);
    assert.equal(meta.status, 200);
    const zarrJson = (await meta.json()) as { zarr_format: number; shape: number[]; data_type: string };
    assert.deepEqual([zarrJson.zarr_format, zarrJson.shape, zarrJson.data_type], [3, [64, 64], "uint16"]);

    // Chunk (1, 0) with a range request, as a sharded reader would: rows 32.., columns 0..
    const chunk = await gcs(c, "GET", BUCKET, `${ZARR_OBJECT}/c/1/0`, { headers: { range: "bytes=0-63" } });
    assert.equal(chunk.status, 206);
    const values = new Uint16Array(new Uint8Array(await chunk.arrayBuffer()).buffer);
    assert.deepEqual(
      [...values],
      Array.from({ length: ZARR_CHUNK[1] }, (_, x) => zarrValue(32, x)),
    );

    // The JSON API with alt=media takes the same token.
    const json = await fetch(
      `${c.storage_url}/storage/v1/b/${BUCKET}/o/${encodeURIComponent(`${ZARR_OBJECT}/zarr.json`)}?alt=media`,
      { headers: { authorization: `Bearer ${c.access_token}` } },
    );
    assert.equal(json.status, 200);
    assert.equal(((await json.json()) as { zarr_format: number }).zarr_format, 3);
  });

  it("refuses the read token outside its prefix, in another bucket, and for any write", async () => {
    const c = await credentials(tokens.reader);
    const refused = async (res: Response, what: string) => {
      assert.equal(res.status, 403, what);
      assert.match(await res.text(), /AccessDenied/, what);
    };
    await refused(await gcs(c, "GET", BUCKET, `${PUBLIC_DS}/open/readme.txt`), "another dataset's prefix");
    await refused(
      await gcs(c, "GET", BUCKET, `${PRIVATE_DS}-secrets/key.txt`),
      "a name sharing the prefix text",
    );
    await refused(await gcs(c, "GET", OTHER_BUCKET, `${PRIVATE_DS}/readme.txt`), "another bucket");
    await refused(await gcs(c, "PUT", BUCKET, `${PRIVATE_DS}/new.txt`, { body: "x" }), "a new object");
    await refused(await gcs(c, "PUT", BUCKET, `${ZARR_OBJECT}/zarr.json`, { body: "{}" }), "an overwrite");
    await refused(await gcs(c, "DELETE", BUCKET, `${ZARR_OBJECT}/c/0/0`), "a delete");
    const list = await fetch(`${c.storage_url}/storage/v1/b/${BUCKET}/o?prefix=${PUBLIC_DS}/`, {
      headers: { authorization: `Bearer ${c.access_token}` },
    });
    assert.equal(list.status, 403, "listing the bucket");
    const bucketInfo = await fetch(`${c.storage_url}/storage/v1/b/${BUCKET}`, {
      headers: { authorization: `Bearer ${c.access_token}` },
    });
    assert.equal(bucketInfo.status, 403, "reading the bucket's metadata");
    assert.ok(fx.gcs.getObject(BUCKET, `${ZARR_OBJECT}/c/0/0`), "the chunk is still there");
    assert.equal(fx.gcs.getObject(BUCKET, `${PRIVATE_DS}/new.txt`), undefined, "nothing was written");
  });

  it("gives a writer a write token for one folder: it creates there, and nowhere else", async () => {
    const c = await credentials(tokens.writer, { access: "write", prefix: "uploads/run-1/" });
    assert.equal(c.access, "write");
    assert.equal(c.prefix, `${PRIVATE_DS}/uploads/run-1/`);
    const created = await gcs(c, "PUT", BUCKET, `${PRIVATE_DS}/uploads/run-1/a.bin`, { body: "abc" });
    assert.equal(created.status, 200);
    assert.equal(fx.gcs.getObject(BUCKET, `${PRIVATE_DS}/uploads/run-1/a.bin`)?.data.toString(), "abc");
    const readBack = await gcs(c, "GET", BUCKET, `${PRIVATE_DS}/uploads/run-1/a.bin`);
    assert.equal(await readBack.text(), "abc");

    const overwrite = await gcs(c, "PUT", BUCKET, `${PRIVATE_DS}/uploads/run-1/a.bin`, { body: "zzz" });
    assert.equal(overwrite.status, 403, "no overwrite");
    const outside = await gcs(c, "PUT", BUCKET, `${PRIVATE_DS}/uploads/run-2/a.bin`, { body: "abc" });
    assert.equal(outside.status, 403, "no write outside the folder");
    const readOutside = await gcs(c, "GET", BUCKET, `${ZARR_OBJECT}/zarr.json`);
    assert.equal(readOutside.status, 403, "the write token reads only its folder");
    assert.equal(fx.gcs.getObject(BUCKET, `${PRIVATE_DS}/uploads/run-1/a.bin`)?.data.toString(), "abc");
    assert.equal(fx.gcs.getObject(BUCKET, `${PRIVATE_DS}/uploads/run-2/a.bin`), undefined);
  });

  it("narrows a read token to a folder when asked", async () => {
    const c = await credentials(tokens.reader, { prefix: "zarr" });
    assert.equal(c.prefix, `${PRIVATE_DS}/zarr/`);
    assert.equal((await gcs(c, "GET", BUCKET, `${ZARR_OBJECT}/zarr.json`)).status, 200);
    assert.equal((await gcs(c, "GET", BUCKET, `${PRIVATE_DS}/session-001/readme.txt`)).status, 403);
  });

  it("stops working when it expires, and storage says so with a 401", async () => {
    const c = await credentials(tokens.reader);
    assert.equal((await gcs(c, "GET", BUCKET, `${ZARR_OBJECT}/zarr.json`)).status, 200);
    fx.setClockOffset(Date.parse(c.expires_at) - Date.now() + 1000);
    const expired = await gcs(c, "GET", BUCKET, `${ZARR_OBJECT}/zarr.json`);
    assert.equal(expired.status, 401);
    const forged = await gcs(
      { ...c, access_token: `${c.access_token}x` },
      "GET",
      BUCKET,
      `${ZARR_OBJECT}/zarr.json`,
    );
    assert.equal(forged.status, 401, "an unknown downscoped token");
  });

  it("reuses one exchange per boundary within an instance", async () => {
    const start = fx.sts.exchanges();
    const a = await credentials(tokens.reader, { prefix: "session-001" });
    const b = await credentials(tokens.writer, { prefix: "session-001/" });
    await credentials(tokens.reader, { prefix: "zarr/example.zarr" });
    assert.equal(a.access_token, b.access_token, "same boundary, same token");
    assert.equal(fx.sts.exchanges() - start, 2);
  });

  describe("who may ask", () => {
    const expectRead = {
      anonymous: 401,
      unknown: 403,
      reader: 200,
      writer: 200,
      datasetAdmin: 200,
      admin: 200,
      disabled: 403,
    };
    const reseed = async () => {
      await seedDatasetFiles();
      fx.api.deps.datasets.invalidate();
    };

    it("read tokens: whoever may read the dataset", async () => {
      await checkMatrix(
        fx.api,
        tokens,
        { method: "POST", path: `/v2/files/${PRIVATE_DS}/credentials`, body: { access: "read" } },
        expectRead,
        reseed,
      );
    });

    it("write tokens: writers, dataset admins and admins", async () => {
      await checkMatrix(
        fx.api,
        tokens,
        {
          method: "POST",
          path: `/v2/files/${PRIVATE_DS}/credentials`,
          body: { access: "write", prefix: "up" },
        },
        { ...expectRead, reader: 403 },
        reseed,
      );
    });

    it("a public dataset: any signed-in user gets a read token that reads only that dataset", async () => {
      const c = await credentials(tokens.unknown, {}, PUBLIC_DS);
      assert.equal(c.prefix, `${PUBLIC_DS}/`);
      assert.equal((await gcs(c, "GET", BUCKET, `${PUBLIC_DS}/open/readme.txt`)).status, 200);
      assert.equal((await gcs(c, "GET", BUCKET, `${ZARR_OBJECT}/zarr.json`)).status, 403);
      const write = await call(fx.api.url, "POST", `/v2/files/${PUBLIC_DS}/credentials`, {
        token: tokens.unknown,
        body: { access: "write", prefix: "up" },
      });
      assert.equal(write.status, 403);
    });

    it("a read-only scoped key gets read tokens for its dataset only", async () => {
      const key = await mint(fx.api.url, tokens.writer, { name: "zarr viewer", datasets: [PRIVATE_DS] });
      const c = await credentials(key.key);
      assert.equal((await gcs(c, "GET", BUCKET, `${ZARR_OBJECT}/zarr.json`)).status, 200);
      const other = await call(fx.api.url, "POST", `/v2/files/${PUBLIC_DS}/credentials`, {
        token: key.key,
        body: {},
      });
      assert.equal(other.status, 403, "not a dataset outside the key's scope");
      const write = await call<{ detail: string }>(
        fx.api.url,
        "POST",
        `/v2/files/${PRIVATE_DS}/credentials`,
        {
          token: key.key,
          body: { access: "write", prefix: "up" },
        },
      );
      assert.equal(write.status, 403, "a read-only key never gets a write token");
      assert.match(write.body.detail, /can_write_others/);
    });
  });

  describe("bad input", () => {
    const cases: [string, object, RegExp][] = [
      ["an unknown access", { access: "admin" }, /access must be "read" or "write"/],
      ["a prefix leaving the dataset", { prefix: "../public-ds" }, /\.\. segment/],
      ["an absolute prefix", { prefix: "/etc" }, /relative/],
      ["a quote in the prefix", { prefix: "a'b" }, /quotes/],
      ["a write token without a prefix", { access: "write" }, /needs a prefix/],
      ["an unknown field", { access: "read", bucket: OTHER_BUCKET }, /bucket/],
    ];
    for (const [what, body, message] of cases) {
      it(`refuses ${what} with a 400 naming it, and mints nothing`, async () => {
        const snapshot = await snapshotAll();
        const exchanges = fx.sts.exchanges();
        const res = await call<{ detail: string }>(
          fx.api.url,
          "POST",
          `/v2/files/${PRIVATE_DS}/credentials`,
          {
            token: tokens.admin,
            body,
          },
        );
        assert.equal(res.status, 400, res.text);
        assert.match(res.body.detail, message);
        assert.equal(fx.sts.exchanges(), exchanges, "no token exchange");
        assert.deepEqual(await snapshotAll(), snapshot, "nothing written");
      });
    }

    it("answers 404 for a dataset with no files or that does not exist", async () => {
      await fx.api.deps.db
        .collection("clio_datasets")
        .doc("bare")
        .set({ description: "no files", public: true });
      fx.api.deps.datasets.invalidate();
      const bare = await call(fx.api.url, "POST", `/v2/files/bare/credentials`, {
        token: tokens.admin,
        body: {},
      });
      assert.equal(bare.status, 404);
      const none = await call(fx.api.url, "POST", `/v2/files/nope/credentials`, {
        token: tokens.admin,
        body: {},
      });
      assert.equal(none.status, 404);
    });
  });
});
