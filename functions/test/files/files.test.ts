import assert from "node:assert/strict";
import crypto from "node:crypto";
import { checkMatrix } from "../helpers/matrix.js";
import { call, personaTokens, PRIVATE_DS, PUBLIC_DS, seedPersonas, type Persona } from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";
import {
  BUCKET,
  NWB,
  seedDatasetFiles,
  seedObjects,
  startFilesFixture,
  type FilesFixture,
} from "./fixture.js";

interface Signed {
  path: string;
  url: string;
  size: number;
  etag: string;
  generation: string;
  contentType: string;
  expires: string;
}

describe("files API", () => {
  let fx: FilesFixture;
  let tokens: Record<Persona, string | undefined>;
  const base = () => fx.api.url;

  before(async () => {
    fx = await startFilesFixture({ signedUrlSeconds: 600 });
    tokens = await personaTokens();
  });
  after(() => fx.close());
  beforeEach(async () => {
    fx.setClockOffset(0);
    await clearFirestore();
    await seedPersonas();
    await seedDatasetFiles();
    await seedObjects(fx);
    fx.api.deps.datasets.invalidate();
    fx.api.deps.users.invalidate();
  });

  const signJson = async (path: string, token = tokens.reader) => {
    const res = await call<Signed>(base(), "GET", `/v2/files/${PRIVATE_DS}/${path}?signed=json`, { token });
    assert.equal(res.status, 200, res.text);
    return res.body;
  };

  describe("HEAD", () => {
    it("answers 200 with the headers a lazy HDF5 reader needs and no body", async () => {
      const res = await fetch(`${base()}/v2/files/${PRIVATE_DS}/${NWB}`, {
        method: "HEAD",
        headers: { authorization: `Bearer ${tokens.reader}` },
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-length"), String(fx.nwbBytes.length));
      assert.equal(res.headers.get("accept-ranges"), "bytes");
      assert.equal(res.headers.get("content-type"), "application/x-hdf5");
      assert.equal(
        res.headers.get("etag"),
        `"${crypto.createHash("md5").update(fx.nwbBytes).digest("hex")}"`,
      );
      assert.ok(!Number.isNaN(Date.parse(res.headers.get("last-modified") ?? "")));
      assert.equal(res.headers.get("keep-alive"), null, "no hand-set hop-by-hop headers");
      assert.equal((await res.arrayBuffer()).byteLength, 0);
    });

    it("answers 404 for a missing file and for a dataset without files", async () => {
      const missing = await call(base(), "HEAD", `/v2/files/${PRIVATE_DS}/session-001/nope.nwb`, {
        token: tokens.reader,
      });
      assert.equal(missing.status, 404);
      const db = fx.api.deps.db;
      await db.collection("clio_datasets").doc("bare").set({ description: "no files", public: true });
      fx.api.deps.datasets.invalidate();
      const bare = await call<{ detail: string }>(base(), "GET", `/v2/files/bare/x.txt?signed=json`, {
        token: tokens.reader,
      });
      assert.equal(bare.status, 404);
      assert.match(bare.body.detail, /has no files/);
    });

    it("permission matrix", async () => {
      await checkMatrix(
        fx.api,
        tokens,
        { method: "HEAD", path: `/v2/files/${PRIVATE_DS}/${NWB}` },
        {
          anonymous: 401,
          unknown: 403,
          reader: 200,
          writer: 200,
          datasetAdmin: 200,
          admin: 200,
          disabled: 403,
        },
        seedDatasetFiles,
      );
    });
  });

  describe("GET", () => {
    it("redirects with 302 to a generation-pinned signed URL that the storage server accepts", async () => {
      const res = await fetch(`${base()}/v2/files/${PRIVATE_DS}/${NWB}`, {
        headers: { authorization: `Bearer ${tokens.reader}` },
        redirect: "manual",
      });
      assert.equal(res.status, 302);
      const cache = res.headers.get("cache-control") ?? "";
      const maxAge = Number(/max-age=(\d+)/.exec(cache)?.[1]);
      assert.match(cache, /private/);
      assert.ok(maxAge > 0 && maxAge < 600, cache);
      const location = new URL(res.headers.get("location")!);
      assert.ok(location.href.startsWith(`${fx.gcs.url}/${BUCKET}/${PRIVATE_DS}/${NWB}?`), location.href);
      const [meta] = await fx.storage.bucket(BUCKET).file(`${PRIVATE_DS}/${NWB}`).getMetadata();
      assert.equal(location.searchParams.get("generation"), String(meta.generation));
      const head = await fetch(location, { range: "bytes=0-7" } as RequestInit);
      assert.equal(head.status, 200);
      const first = await fetch(location, { headers: { range: "bytes=0-7" } });
      assert.equal(first.status, 206);
      assert.deepEqual(
        Buffer.from(await first.arrayBuffer()),
        Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]),
      );
      await head.arrayBuffer();
    });

    it("returns the signed URL as JSON with size, etag, generation, type and expiry", async () => {
      const before = Date.now();
      const signed = await signJson(NWB);
      assert.equal(signed.path, NWB);
      assert.equal(signed.size, fx.nwbBytes.length);
      assert.equal(signed.contentType, "application/x-hdf5");
      assert.equal(signed.etag, `"${crypto.createHash("md5").update(fx.nwbBytes).digest("hex")}"`);
      assert.match(signed.generation, /^\d+$/);
      const expires = Date.parse(signed.expires);
      assert.ok(expires >= before + 599_000 && expires <= Date.now() + 601_000, signed.expires);
      const res = await fetch(signed.url, { method: "HEAD" });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-length"), String(fx.nwbBytes.length));
    });

    it("serves exactly the requested bytes of a range", async () => {
      const { url } = await signJson(NWB);
      for (const [a, b] of [
        [0, 1023],
        [1_048_576, 2_097_151],
        [fx.nwbBytes.length - 100, fx.nwbBytes.length - 1],
      ] as const) {
        const res = await fetch(url, { headers: { range: `bytes=${a}-${b}` } });
        assert.equal(res.status, 206);
        assert.equal(res.headers.get("content-range"), `bytes ${a}-${b}/${fx.nwbBytes.length}`);
        assert.ok(Buffer.from(await res.arrayBuffer()).equals(fx.nwbBytes.subarray(a, b + 1)), `${a}-${b}`);
      }
    });

    it("refuses expired and tampered URLs", async () => {
      const { url } = await signJson(NWB);
      const u = new URL(url);
      const sig = u.searchParams.get("X-Goog-Signature")!;
      const tampered = [new URL(u), new URL(u), new URL(u)];
      tampered[0]!.searchParams.set("X-Goog-Signature", (sig[0] === "a" ? "b" : "a") + sig.slice(1));
      tampered[1]!.pathname = `/${BUCKET}/${PRIVATE_DS}/session-001/metadata.json`;
      tampered[2]!.searchParams.set("generation", "1");
      for (const t of tampered) {
        const res = await fetch(t, { headers: { range: "bytes=0-9" } });
        assert.equal(res.status, 403, t.href);
        await res.arrayBuffer();
      }
      fx.setClockOffset(601_000);
      const expired = await fetch(url, { headers: { range: "bytes=0-9" } });
      assert.equal(expired.status, 403);
      assert.match(await expired.text(), /ExpiredToken/);
    });

    it("keeps a pinned read on the signed generation after an overwrite", async () => {
      const path = "session-001/readme.txt";
      const old = await signJson(path);
      const original = Buffer.from(await (await fetch(old.url)).arrayBuffer());
      await fx.storage
        .bucket(BUCKET)
        .file(`${PRIVATE_DS}/${path}`)
        .save("REPLACED CONTENT", { resumable: false });
      const again = await fetch(old.url, { headers: { range: `bytes=0-${original.length - 1}` } });
      assert.ok([200, 206].includes(again.status));
      assert.ok(Buffer.from(await again.arrayBuffer()).equals(original), "old URL serves only old bytes");
      const fresh = await signJson(path);
      assert.notEqual(fresh.generation, old.generation);
      assert.notEqual(fresh.etag, old.etag);
      assert.equal(await (await fetch(fresh.url)).text(), "REPLACED CONTENT");
    });

    it("rejects paths that leave the prefix", async () => {
      for (const p of ["session-001/a%2F..%2F..%2F..%2Fother-ds%2Fx", "a%5Cb", "x%2F%2Fy"]) {
        const res = await call<{ code: string; detail: string }>(
          base(),
          "GET",
          `/v2/files/${PRIVATE_DS}/${p}?signed=json`,
          {
            token: tokens.admin,
          },
        );
        assert.equal(res.status, 400, p);
        assert.equal(res.body.code, "invalid_argument");
        assert.match(res.body.detail, /path/);
      }
      const badQuery = await call(base(), "GET", `/v2/files/${PRIVATE_DS}/${NWB}?signed=xml`, {
        token: tokens.admin,
      });
      assert.equal(badQuery.status, 400);
    });

    it("refuses to sign gzip-encoded objects, which range reads cannot use", async () => {
      await fx.storage
        .bucket(BUCKET)
        .file(`${PRIVATE_DS}/z.h5`)
        .save("x", { resumable: false, metadata: { contentEncoding: "gzip" } });
      const res = await call<{ code: string }>(base(), "GET", `/v2/files/${PRIVATE_DS}/z.h5?signed=json`, {
        token: tokens.reader,
      });
      assert.equal(res.status, 412);
      assert.equal(res.body.code, "failed_precondition");
    });

    it("permission matrix (private and public dataset)", async () => {
      await checkMatrix(
        fx.api,
        tokens,
        { method: "GET", path: `/v2/files/${PRIVATE_DS}/${NWB}?signed=json` },
        {
          anonymous: 401,
          unknown: 403,
          reader: 200,
          writer: 200,
          datasetAdmin: 200,
          admin: 200,
          disabled: 403,
        },
        seedDatasetFiles,
      );
      await checkMatrix(
        fx.api,
        tokens,
        { method: "GET", path: `/v2/files/${PUBLIC_DS}/open/readme.txt?signed=json` },
        {
          anonymous: 401,
          unknown: 200,
          reader: 200,
          writer: 200,
          datasetAdmin: 200,
          admin: 200,
          disabled: 403,
        },
        seedDatasetFiles,
      );
    });
  });

  describe("POST /sign", () => {
    it("signs several files and reports the missing ones", async () => {
      const res = await call<{ files: Signed[]; missing: string[] }>(
        base(),
        "POST",
        `/v2/files/${PRIVATE_DS}/sign`,
        {
          token: tokens.reader,
          body: { paths: [NWB, "session-001/metadata.json", "session-001/none.bin"] },
        },
      );
      assert.equal(res.status, 200);
      assert.deepEqual(
        res.body.files.map((f) => f.path),
        [NWB, "session-001/metadata.json"],
      );
      assert.deepEqual(res.body.missing, ["session-001/none.bin"]);
      const meta = await fetch(res.body.files[1]!.url);
      assert.equal(((await meta.json()) as { uuid: string }).uuid, "session-001");
    });

    it("rejects bad bodies with 400", async () => {
      for (const body of [
        {},
        { paths: [] },
        { paths: ["../x"] },
        { paths: ["/abs"] },
        { paths: Array(101).fill("a") },
        { paths: [NWB], x: 1 },
      ]) {
        const res = await call<{ code: string }>(base(), "POST", `/v2/files/${PRIVATE_DS}/sign`, {
          token: tokens.reader,
          body,
        });
        assert.equal(res.status, 400, JSON.stringify(body).slice(0, 60));
        assert.equal(res.body.code, "invalid_argument");
      }
    });

    it("permission matrix", async () => {
      await checkMatrix(
        fx.api,
        tokens,
        { method: "POST", path: `/v2/files/${PRIVATE_DS}/sign`, body: { paths: [NWB] } },
        {
          anonymous: 401,
          unknown: 403,
          reader: 200,
          writer: 200,
          datasetAdmin: 200,
          admin: 200,
          disabled: 403,
        },
        seedDatasetFiles,
      );
    });
  });

  describe("POST /uploads", () => {
    it("starts a resumable session under the dataset prefix that a plain PUT completes", async () => {
      const res = await call<{ uploadUrl: string; object: string; bucket: string }>(
        base(),
        "POST",
        `/v2/files/${PRIVATE_DS}/uploads`,
        { token: tokens.writer, body: { path: "session-002/new.nwb", contentType: "application/x-hdf5" } },
      );
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.object, `${PRIVATE_DS}/session-002/new.nwb`);
      assert.equal(res.body.bucket, BUCKET);
      const body = crypto.randomBytes(300_000);
      const put = await fetch(res.body.uploadUrl, { method: "PUT", body });
      assert.equal(put.status, 200);
      await put.arrayBuffer();
      const stored = fx.gcs.getObject(BUCKET, `${PRIVATE_DS}/session-002/new.nwb`);
      assert.ok(stored);
      assert.ok(stored.data.equals(body));
      assert.equal(stored.contentType, "application/x-hdf5");
    });

    it("rejects paths escaping the prefix and writes nothing", async () => {
      const before = (await fx.storage.bucket(BUCKET).getFiles())[0].length;
      for (const path of ["../other-ds/x", "/abs/x", "a//b", "a/./b", "a/..", "", "a\\b", "x\u0000y"]) {
        const res = await call<{ code: string; detail: string }>(
          base(),
          "POST",
          `/v2/files/${PRIVATE_DS}/uploads`,
          {
            token: tokens.admin,
            body: { path },
          },
        );
        assert.equal(res.status, 400, JSON.stringify(path));
        assert.match(res.body.detail, /path/);
      }
      const badType = await call(base(), "POST", `/v2/files/${PRIVATE_DS}/uploads`, {
        token: tokens.admin,
        body: { path: "ok.bin", contentType: "not a type" },
      });
      assert.equal(badType.status, 400);
      assert.equal((await fx.storage.bucket(BUCKET).getFiles())[0].length, before);
    });

    it("permission matrix: writers and dataset admins only", async () => {
      await checkMatrix(
        fx.api,
        tokens,
        { method: "POST", path: `/v2/files/${PRIVATE_DS}/uploads`, body: { path: "m/x.bin" } },
        {
          anonymous: 401,
          unknown: 403,
          reader: 403,
          writer: 200,
          datasetAdmin: 200,
          admin: 200,
          disabled: 403,
        },
        seedDatasetFiles,
      );
      await checkMatrix(
        fx.api,
        tokens,
        { method: "POST", path: `/v2/files/${PUBLIC_DS}/uploads`, body: { path: "m/x.bin" } },
        {
          anonymous: 401,
          unknown: 403,
          reader: 403,
          writer: 403,
          datasetAdmin: 403,
          admin: 200,
          disabled: 403,
        },
        seedDatasetFiles,
      );
    });
  });
});
