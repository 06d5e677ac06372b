import assert from "node:assert/strict";
import crypto from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Storage, type File } from "@google-cloud/storage";
import {
  createServiceAccount,
  loadServiceAccount,
  type LocalServiceAccount,
} from "../../loopback/service-account.js";
import { seedBucketFromDir, startStorageServer, type StorageServer } from "../../loopback/storage.js";

const BUCKET = "neurofire-test";

// Deterministic bytes whose value at each offset is known, so range checks compare exact content.
function pattern(size: number, seed = 0): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

async function statusOf(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: number }).code;
  }
}

describe("loopback Cloud Storage server", () => {
  let server: StorageServer;
  let sa: LocalServiceAccount;
  let storage: Storage;
  let tmp: string;
  let clockOffset = 0;

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "neurofire-storage-"));
    sa = await createServiceAccount({ path: path.join(tmp, "sa.json") });
    server = await startStorageServer({
      signerPublicKeys: { [sa.credentials.client_email]: sa.publicKeyPem },
      now: () => Date.now() + clockOffset,
    });
    storage = new Storage({
      apiEndpoint: server.url,
      projectId: "demo-neurofire",
      credentials: sa.credentials,
    });
  });

  after(async () => {
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  });

  beforeEach(() => {
    server.clear();
    clockOffset = 0;
  });

  const file = (name: string): File => storage.bucket(BUCKET).file(name);

  describe("uploads and downloads through the real client", () => {
    it("round-trips a multipart save with metadata", async () => {
      await file("a/b.txt").save("hello world", {
        resumable: false,
        contentType: "text/plain",
        metadata: { metadata: { lab: "neuro" } },
      });
      const [data] = await file("a/b.txt").download();
      assert.equal(data.toString(), "hello world");
      const [meta] = await file("a/b.txt").getMetadata();
      assert.equal(meta.name, "a/b.txt");
      assert.equal(meta.bucket, BUCKET);
      assert.equal(meta.size, "11");
      assert.equal(meta.contentType, "text/plain");
      assert.equal(meta.md5Hash, crypto.createHash("md5").update("hello world").digest("base64"));
      assert.equal(meta.crc32c, "yZRlqg=="); // GCS's documented CRC32C of "hello world"
      assert.match(String(meta.generation), /^\d+$/);
      assert.equal(meta.metageneration, "1");
      assert.deepEqual(meta.metadata, { lab: "neuro" });
      assert.ok(meta.etag && meta.updated && meta.timeCreated);
    });

    it("uploads with uploadType=media", async () => {
      const res = await fetch(
        `${server.url}/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=m%2Fx.bin`,
        {
          method: "POST",
          headers: { "content-type": "application/octet-stream" },
          body: pattern(1000),
        },
      );
      assert.equal(res.status, 200);
      const body = (await res.json()) as { name: string; size: string };
      assert.deepEqual([body.name, body.size], ["m/x.bin", "1000"]);
      const [data] = await file("m/x.bin").download();
      assert.ok(data.equals(pattern(1000)));
    });

    it("stores a 6 MB resumable upload intact, in one request and in chunks", async () => {
      const big = pattern(6 * 1024 * 1024 + 123, 7);
      await file("big/one.bin").save(big, { resumable: true });
      await file("big/chunked.bin").save(big, { resumable: true, chunkSize: 2 * 1024 * 1024 });
      for (const name of ["big/one.bin", "big/chunked.bin"]) {
        const [data] = await file(name).download();
        assert.equal(data.length, big.length);
        assert.ok(data.equals(big), `${name} differs`);
      }
    });

    it("answers 308 with Range for an incomplete session, then 200", async () => {
      const start = await fetch(
        `${server.url}/upload/storage/v1/b/${BUCKET}/o?uploadType=resumable&name=s.bin`,
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{}",
        },
      );
      const location = start.headers.get("location")!;
      assert.ok(location.includes("upload_id="));
      const data = pattern(300);
      const first = await fetch(location, {
        method: "PUT",
        headers: { "content-range": "bytes 0-99/300" },
        body: data.subarray(0, 100),
      });
      assert.equal(first.status, 308);
      assert.equal(first.headers.get("range"), "bytes=0-99");
      const query = await fetch(location, { method: "PUT", headers: { "content-range": "bytes */300" } });
      assert.equal(query.status, 308);
      assert.equal(query.headers.get("range"), "bytes=0-99");
      const last = await fetch(location, {
        method: "PUT",
        headers: { "content-range": "bytes 100-299/300" },
        body: data.subarray(100),
      });
      assert.equal(last.status, 200);
      assert.ok(server.getObject(BUCKET, "s.bin")?.data.equals(data));
    });

    it("updates metadata with PATCH and deletes objects", async () => {
      await file("p.txt").save("x", { resumable: false, metadata: { metadata: { a: "1", b: "2" } } });
      await file("p.txt").setMetadata({ contentType: "text/csv", metadata: { a: null, c: "3" } });
      const [meta] = await file("p.txt").getMetadata();
      assert.equal(meta.contentType, "text/csv");
      assert.deepEqual(meta.metadata, { b: "2", c: "3" });
      assert.equal(meta.metageneration, "2");
      await file("p.txt").delete();
      assert.deepEqual(await file("p.txt").exists(), [false]);
      assert.equal(await statusOf(file("p.txt").delete()), 404);
    });

    it("refuses ifGenerationMatch: 0 when the object exists, with 412", async () => {
      await file("once.txt").save("first", { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
      const status = await statusOf(
        file("once.txt").save("second", { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }),
      );
      assert.equal(status, 412);
      const [data] = await file("once.txt").download();
      assert.equal(data.toString(), "first");
    });

    it("keeps old generations readable after an overwrite", async () => {
      await file("g.bin").save("old bytes", { resumable: false });
      const [m1] = await file("g.bin").getMetadata();
      await file("g.bin").save("new bytes!", { resumable: false });
      const [m2] = await file("g.bin").getMetadata();
      assert.notEqual(m1.generation, m2.generation);
      const [oldData] = await storage
        .bucket(BUCKET)
        .file("g.bin", { generation: Number(m1.generation) })
        .download();
      assert.equal(oldData.toString(), "old bytes");
      const [newData] = await file("g.bin").download();
      assert.equal(newData.toString(), "new bytes!");
    });
  });

  describe("listing", () => {
    beforeEach(async () => {
      for (const name of [
        "d/1.txt",
        "d/2.txt",
        "d/sub/3.txt",
        "d/sub/deeper/4.txt",
        "d/zz/5.txt",
        "e/6.txt",
      ]) {
        await file(name).save(name, { resumable: false });
      }
    });

    it("filters by prefix", async () => {
      const [files] = await storage.bucket(BUCKET).getFiles({ prefix: "d/sub/" });
      assert.deepEqual(
        files.map((f) => f.name),
        ["d/sub/3.txt", "d/sub/deeper/4.txt"],
      );
    });

    it("collapses names into prefixes with a delimiter", async () => {
      const [files, , response] = await storage
        .bucket(BUCKET)
        .getFiles({ prefix: "d/", delimiter: "/", autoPaginate: false });
      assert.deepEqual(
        files.map((f) => f.name),
        ["d/1.txt", "d/2.txt"],
      );
      assert.deepEqual((response as { prefixes?: string[] }).prefixes, ["d/sub/", "d/zz/"]);
    });

    it("pages with maxResults and pageToken, visiting every object once", async () => {
      const seen: string[] = [];
      let query: { maxResults: number; autoPaginate: false; pageToken?: string } | null = {
        maxResults: 2,
        autoPaginate: false,
      };
      let pages = 0;
      while (query) {
        const [files, next] = await storage.bucket(BUCKET).getFiles(query);
        assert.ok(files.length <= 2);
        seen.push(...files.map((f) => f.name));
        query = next as typeof query;
        pages++;
      }
      assert.equal(pages, 3);
      assert.deepEqual(seen, [
        "d/1.txt",
        "d/2.txt",
        "d/sub/3.txt",
        "d/sub/deeper/4.txt",
        "d/zz/5.txt",
        "e/6.txt",
      ]);
      const [all] = await storage.bucket(BUCKET).getFiles({ maxResults: 4 });
      assert.equal(all.length, 4);
    });
  });

  describe("byte ranges", () => {
    const size = 10_000;
    const data = pattern(size, 3);
    beforeEach(() => file("r.bin").save(data, { resumable: false }));

    it("serves start/end ranges through the client", async () => {
      const [slice] = await file("r.bin").download({ start: 100, end: 199 });
      assert.ok(slice.equals(data.subarray(100, 200)));
    });

    const media = () => `${server.url}/storage/v1/b/${BUCKET}/o/r.bin?alt=media`;
    const cases: [string, number, number][] = [
      ["bytes=0-9", 0, 9],
      ["bytes=9990-", 9990, 9999],
      ["bytes=-5", 9995, 9999],
      ["bytes=9995-20000", 9995, 9999],
      ["bytes=-20000", 0, 9999],
    ];
    for (const [range, a, b] of cases) {
      it(`answers ${range} with 206 and exactly bytes ${a}-${b}`, async () => {
        const res = await fetch(media(), { headers: { range } });
        assert.equal(res.status, 206);
        assert.equal(res.headers.get("content-range"), `bytes ${a}-${b}/${size}`);
        assert.equal(res.headers.get("content-length"), String(b - a + 1));
        assert.ok(Buffer.from(await res.arrayBuffer()).equals(data.subarray(a, b + 1)));
      });
    }

    it("answers an unsatisfiable range with 416", async () => {
      for (const range of ["bytes=10000-", "bytes=20000-20005", "bytes=-0"]) {
        const res = await fetch(media(), { headers: { range } });
        assert.equal(res.status, 416, range);
        assert.equal(res.headers.get("content-range"), `bytes */${size}`);
        await res.arrayBuffer();
      }
    });

    it("serves the whole object without a Range header", async () => {
      const res = await fetch(media());
      assert.equal(res.status, 200);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(data));
    });
  });

  describe("V4 signed URLs", () => {
    const data = pattern(50_000, 11);
    beforeEach(() => file("s/rec.nwb").save(data, { resumable: false, contentType: "application/x-hdf5" }));

    const sign = async (
      opts: { expires?: number; generation?: string; action?: "read" | "resumable" } = {},
    ) => {
      const [url] = await file("s/rec.nwb").getSignedUrl({
        version: "v4",
        action: opts.action ?? "read",
        expires: opts.expires ?? Date.now() + 10 * 60_000,
        ...(opts.generation && { queryParams: { generation: opts.generation } }),
      });
      return url;
    };

    it("produces path-style URLs on the loopback server", async () => {
      const url = await sign();
      assert.ok(url.startsWith(`${server.url}/${BUCKET}/s/rec.nwb?`), url);
    });

    it("lets plain fetch GET the object, and read a range", async () => {
      const url = await sign();
      const full = await fetch(url);
      assert.equal(full.status, 200);
      assert.ok(Buffer.from(await full.arrayBuffer()).equals(data));
      const part = await fetch(url, { headers: { range: "bytes=1048-2095" } });
      assert.equal(part.status, 206);
      assert.ok(Buffer.from(await part.arrayBuffer()).equals(data.subarray(1048, 2096)));
    });

    it("answers HEAD with the headers a lazy HDF5 reader needs and no body", async () => {
      const res = await fetch(await sign(), { method: "HEAD" });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-length"), String(data.length));
      assert.equal(res.headers.get("accept-ranges"), "bytes");
      assert.equal(res.headers.get("content-type"), "application/x-hdf5");
      assert.equal(res.headers.get("etag"), `"${crypto.createHash("md5").update(data).digest("hex")}"`);
      assert.ok(!Number.isNaN(Date.parse(res.headers.get("last-modified") ?? "")));
      assert.equal((await res.arrayBuffer()).byteLength, 0);
    });

    it("exposes range headers to cross-origin pages", async () => {
      const res = await fetch(await sign(), {
        headers: { origin: "http://127.0.0.1:9", range: "bytes=0-0" },
      });
      assert.equal(res.headers.get("access-control-allow-origin"), "http://127.0.0.1:9");
      const exposed = (res.headers.get("access-control-expose-headers") ?? "").toLowerCase();
      for (const h of ["content-length", "content-range", "accept-ranges", "etag"])
        assert.ok(exposed.includes(h), h);
      await res.arrayBuffer();
      const pre = await fetch(await sign(), {
        method: "OPTIONS",
        headers: {
          origin: "http://127.0.0.1:9",
          "access-control-request-method": "GET",
          "access-control-request-headers": "range",
        },
      });
      assert.equal(pre.status, 200);
      assert.match(pre.headers.get("access-control-allow-headers") ?? "", /range/i);
    });

    it("refuses a tampered signature, path or query with 403", async () => {
      const url = new URL(await sign());
      const sig = url.searchParams.get("X-Goog-Signature")!;
      const flipped = new URL(url);
      flipped.searchParams.set("X-Goog-Signature", (sig[0] === "a" ? "b" : "a") + sig.slice(1));
      const otherPath = new URL(url);
      otherPath.pathname = `/${BUCKET}/s/other.nwb`;
      const extraParam = new URL(url);
      extraParam.searchParams.set("generation", "1");
      for (const u of [flipped, otherPath, extraParam]) {
        const res = await fetch(u);
        assert.equal(res.status, 403, u.href);
        assert.match(await res.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
      }
    });

    it("refuses a URL signed for GET when used to PUT", async () => {
      const res = await fetch(await sign(), { method: "PUT", body: "overwrite" });
      assert.equal(res.status, 403);
      const [current] = await file("s/rec.nwb").download();
      assert.ok(current.equals(data));
    });

    it("refuses an expired URL with 403", async () => {
      const url = await sign({ expires: Date.now() + 60_000 });
      const fresh = await fetch(url);
      assert.equal(fresh.status, 200);
      await fresh.arrayBuffer();
      clockOffset = 2 * 60_000;
      const res = await fetch(url);
      assert.equal(res.status, 403);
      assert.match(await res.text(), /<Code>ExpiredToken<\/Code>/);
    });

    it("refuses a signature from a key the server does not know", async () => {
      const stranger = await createServiceAccount({
        clientEmail: "stranger@demo-neurofire.iam.gserviceaccount.com",
      });
      const other = new Storage({
        apiEndpoint: server.url,
        projectId: "demo-neurofire",
        credentials: stranger.credentials,
      });
      const [url] = await other
        .bucket(BUCKET)
        .file("s/rec.nwb")
        .getSignedUrl({ version: "v4", action: "read", expires: Date.now() + 60_000 });
      const res = await fetch(url);
      assert.equal(res.status, 403);
      await res.arrayBuffer();
    });

    it("refuses unsigned path-style reads", async () => {
      const res = await fetch(`${server.url}/${BUCKET}/s/rec.nwb`);
      assert.equal(res.status, 403);
      await res.arrayBuffer();
    });

    it("keeps a generation-pinned URL on the old bytes after an overwrite", async () => {
      const [meta] = await file("s/rec.nwb").getMetadata();
      const url = await sign({ generation: String(meta.generation) });
      await file("s/rec.nwb").save(pattern(50_000, 99), { resumable: false });
      const res = await fetch(url, { headers: { range: "bytes=0-999" } });
      assert.equal(res.status, 206);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(data.subarray(0, 1000)));
      const head = await fetch(url, { method: "HEAD" });
      assert.equal(head.headers.get("x-goog-generation"), String(meta.generation));
    });

    it("starts a signed resumable upload that a plain PUT completes", async () => {
      const [url] = await file("up/new.bin").getSignedUrl({
        version: "v4",
        action: "resumable",
        expires: Date.now() + 60_000,
      });
      const start = await fetch(url, { method: "POST", headers: { "x-goog-resumable": "start" } });
      assert.equal(start.status, 201);
      const location = start.headers.get("location");
      assert.ok(location);
      const body = pattern(3_000_000, 5);
      const put = await fetch(location, { method: "PUT", body });
      assert.equal(put.status, 200);
      const [stored] = await file("up/new.bin").download();
      assert.ok(stored.equals(body));
      const noHeader = await fetch(url, { method: "POST" });
      assert.equal(noHeader.status, 403, "x-goog-resumable is a signed header");
      await noHeader.arrayBuffer();
    });

    it("signs with a key file reloaded from disk", async () => {
      const loaded = await loadServiceAccount(sa.path!);
      assert.equal(loaded.publicKeyPem, sa.publicKeyPem);
      const fromFile = new Storage({
        apiEndpoint: server.url,
        projectId: "demo-neurofire",
        keyFilename: sa.path!,
      });
      const [url] = await fromFile
        .bucket(BUCKET)
        .file("s/rec.nwb")
        .getSignedUrl({ version: "v4", action: "read", expires: Date.now() + 60_000 });
      const res = await fetch(url, { headers: { range: "bytes=-10" } });
      assert.equal(res.status, 206);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(data.subarray(-10)));
    });
  });

  describe("STORAGE_EMULATOR_HOST", () => {
    it("serves a client configured by the environment variable, as firebase-admin does", async () => {
      const saved = process.env.STORAGE_EMULATOR_HOST;
      process.env.STORAGE_EMULATOR_HOST = server.url;
      let client: Storage;
      try {
        client = new Storage({ projectId: "demo-neurofire" });
      } finally {
        if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
        else process.env.STORAGE_EMULATOR_HOST = saved;
      }
      const f = client.bucket(BUCKET).file("env/x.txt");
      await f.save("via env", { resumable: false });
      assert.equal((await f.download())[0].toString(), "via env");
      assert.equal((await f.getMetadata())[0].size, "7");
      const [files] = await client.bucket(BUCKET).getFiles({ prefix: "env/" });
      assert.deepEqual(
        files.map((x) => x.name),
        ["env/x.txt"],
      );
      await f.delete();
      assert.deepEqual(await f.exists(), [false]);
    });
  });

  describe("seedBucketFromDir", () => {
    it("uploads the seed experiment folder, whose HDF5 file a signed range read recognises", async () => {
      const dir = path.resolve(import.meta.dirname, "../../../emulator-data/files/demo-private");
      const names = await seedBucketFromDir(server.url, "demo-bucket", dir, "private/");
      assert.deepEqual(names, [
        "private/session-001/metadata.json",
        "private/session-001/readme.txt",
        "private/session-001/recording.nwb",
      ]);
      const nwb = storage.bucket("demo-bucket").file("private/session-001/recording.nwb");
      const [meta] = await nwb.getMetadata();
      assert.equal(meta.contentType, "application/x-hdf5");
      assert.ok(Number(meta.size) > 1_000_000);
      const [url] = await nwb.getSignedUrl({ version: "v4", action: "read", expires: Date.now() + 60_000 });
      const res = await fetch(url, { headers: { range: "bytes=0-7" } });
      assert.equal(res.status, 206);
      assert.deepEqual(
        [...new Uint8Array(await res.arrayBuffer())],
        [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a],
      );
      const [json] = await storage.bucket("demo-bucket").file("private/session-001/metadata.json").download();
      assert.equal(
        (JSON.parse(json.toString()) as { identifier: string }).identifier,
        "neurofire-demo-session-001",
      );
    });
  });

  describe("persistence", () => {
    it("reloads objects from its root directory after a restart", async () => {
      const rootDir = path.join(tmp, "persist");
      const first = await startStorageServer({ rootDir });
      const client = new Storage({ apiEndpoint: first.url, projectId: "demo-neurofire" });
      await client.bucket(BUCKET).file("keep/me.txt").save("persisted", { resumable: false });
      await first.close();
      const second = await startStorageServer({ rootDir });
      try {
        const again = new Storage({ apiEndpoint: second.url, projectId: "demo-neurofire" });
        const [data] = await again.bucket(BUCKET).file("keep/me.txt").download();
        assert.equal(data.toString(), "persisted");
      } finally {
        await second.close();
      }
    });
  });
});
