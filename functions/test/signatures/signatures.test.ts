import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BigQuery } from "@google-cloud/bigquery";
import { startBigQueryServer, type BigQueryServer } from "../../loopback/bigquery.js";
import { ApiError } from "../../src/errors.js";
import {
  createSignatureService,
  encodeBlock,
  fmix64,
  parseSignatureInfo,
  partitionsOf,
  type ReadObject,
  type SignatureService,
} from "../../src/services/signatures.js";
import {
  DEMO_INFO,
  LANDMARKS,
  makeSignatureSeed,
  writeSignatureSeed,
} from "../../../scripts/make-signatures.js";

const BUCKET = "signatures-bucket";
/** The query landmark's signature, written out so that a lossy path cannot agree with itself. */
const QUERY_SIGNATURE = "-7046029254386353131";

async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe("signatures", () => {
  let dir: string;
  let bq: BigQueryServer;
  let reads: string[];
  let service: SignatureService;

  const readObject: ReadObject = async (bucket, path) => {
    reads.push(`${bucket}/${path}`);
    if (bucket !== BUCKET) throw Object.assign(new Error("no such bucket"), { code: 404 });
    return readFile(join(dir, path));
  };

  const newService = (bucket = BUCKET) =>
    createSignatureService({
      bucket,
      readObject,
      bigquery: new BigQuery({ projectId: "demo-neurofire", apiEndpoint: bq.url }),
    });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "signatures-"));
    await writeSignatureSeed(dir);
    // A dataset whose one block holds a single sample, and which has no BigQuery index.
    await mkdir(join(dir, "sparse", "blocks"), { recursive: true });
    await writeFile(join(dir, "sparse", "info.json"), JSON.stringify({ ...stringMasks(), block_size: 1000 }));
    await writeFile(
      join(dir, "sparse", "blocks", "0_0_0"),
      encodeBlock([{ point: [10, 10, 10], signature: 9007199254740993n }]),
    );
    bq = await startBigQueryServer({ tables: makeSignatureSeed().tables });
  });

  after(async () => {
    await bq.close();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    reads = [];
    bq.requests.length = 0;
    service = newService();
  });

  function stringMasks() {
    return {
      ham_0: DEMO_INFO.ham_0.toString(),
      ham_1: DEMO_INFO.ham_1.toString(),
      ham_2: DEMO_INFO.ham_2.toString(),
      ham_3: DEMO_INFO.ham_3.toString(),
    };
  }

  describe("atLocation", () => {
    it("returns the exact int64 signature of a seeded point", async () => {
      const answer = await service.atLocation("demo", { x: "96", y: "96", z: "96" });
      assert.deepEqual(answer, { point: [96, 96, 96], signature: QUERY_SIGNATURE });
    });

    it("returns the nearest sample to a point between samples, in any case of dataset name", async () => {
      const answer = await service.atLocation("DEMO", { x: 150, y: 100, z: 90 });
      assert.deepEqual(answer, {
        point: [160, 96, 96],
        signature: LANDMARKS.besideQuery.signature.toString(),
      });
    });

    it("keeps signatures above 2^53 exact", async () => {
      const answer = await service.atLocation("sparse", { x: 12, y: 10, z: 10 });
      assert.equal(answer.signature, "9007199254740993");
    });

    it("is not found when no sample lies within 100 voxels", async () => {
      await rejectsWith(service.atLocation("sparse", { x: 200, y: 200, z: 200 }), "not_found", /100 voxels/);
      await rejectsWith(service.atLocation("demo", { x: 5000, y: 96, z: 96 }), "not_found", /100 voxels/);
    });

    it("is not found for a dataset without signatures", async () => {
      await rejectsWith(service.atLocation("nosuch", { x: 1, y: 1, z: 1 }), "not_found", /nosuch/);
    });

    it("rejects bad coordinates before reading anything", async () => {
      for (const point of [
        { x: "abc", y: 1, z: 1 },
        { x: -1, y: 1, z: 1 },
        { x: 1.5, y: 1, z: 1 },
        { x: 1, y: 1 },
      ]) {
        await rejectsWith(service.atLocation("demo", point), "invalid_argument");
      }
      assert.deepEqual(reads, []);
    });

    it("is unavailable when no signature bucket is configured", async () => {
      await rejectsWith(newService("").atLocation("demo", { x: 96, y: 96, z: 96 }), "unavailable");
    });

    it("reads info.json and each block once while they stay cached", async () => {
      await service.atLocation("demo", { x: 96, y: 96, z: 96 });
      await service.atLocation("demo", { x: 32, y: 32, z: 32 });
      await service.atLocation("demo", { x: 300, y: 32, z: 32 });
      assert.deepEqual(reads, [
        `${BUCKET}/demo/info.json`,
        `${BUCKET}/demo/blocks/0_0_0`,
        `${BUCKET}/demo/blocks/1_0_0`,
      ]);
    });
  });

  describe("likeLocation", () => {
    it("returns the seeded neighbours nearest first, suppressing those within 100 voxels", async () => {
      const answer = await service.likeLocation("demo", { x: 100, y: 90, z: 96 });
      // besideQuery (1 bit, 64 voxels from the query) and besideNear1 (2 bits, 64 voxels from
      // near1) are similar but suppressed; tooFar differs in 9 bits.
      assert.deepEqual(answer, {
        matches: [
          { point: [416, 352, 160], dist: 1, score: 0.875 },
          { point: [32, 416, 224], dist: 3, score: 0.625 },
          { point: [480, 32, 32], dist: 5, score: 0.375 },
        ],
      });
    });

    it("sends one query whose values are all parameters", async () => {
      await service.likeLocation("Demo", { x: 96, y: 96, z: 96 });
      const queries = bq.queries();
      assert.equal(queries.length, 1);
      const body = queries[0]?.body as {
        query: string;
        queryParameters: {
          name: string;
          parameterType: { type: string };
          parameterValue: { value: string };
        }[];
      };
      const params = Object.fromEntries(body.queryParameters.map((p) => [p.name, p]));
      assert.deepEqual(params.signature, {
        name: "signature",
        parameterType: { type: "INT64" },
        parameterValue: { value: QUERY_SIGNATURE },
      });
      // Partitions as clio's Python computes them for this signature and the demo masks.
      assert.deepEqual(
        [0, 1, 2, 3].map((i) => params[`part${i}`]?.parameterValue.value),
        ["2986", "3799", "1691", "2352"],
      );
      assert.equal(String(params.max_hamming?.parameterValue.value), "8");
      // The only number literal in the text is the fixed LIMIT; the dataset is lower-cased.
      assert.deepEqual(body.query.match(/\b\d+\b/g), ["200"]);
      assert.ok(!body.query.includes("7046029254386353131"));
      assert.match(body.query, /`demo_imgsearch\.hamming3`/);
    });

    it("refuses an injection attempt in the dataset name before any read or request", async () => {
      for (const dataset of [
        "demo_imgsearch.hamming0` UNION SELECT 1 --",
        "demo; DROP TABLE x",
        "../demo",
        "démo",
      ]) {
        await rejectsWith(service.likeLocation(dataset, { x: 96, y: 96, z: 96 }), "invalid_argument");
      }
      assert.deepEqual(reads, []);
      assert.deepEqual(bq.requests, []);
    });

    it("is not found when the dataset has signatures but no similarity index", async () => {
      await rejectsWith(
        service.likeLocation("sparse", { x: 10, y: 10, z: 10 }),
        "not_found",
        /similarity index/,
      );
    });

    it("says so when nothing similar exists", async () => {
      const answer = await service.likeLocation("demo", { x: 32, y: 32, z: 32 });
      assert.deepEqual(answer, { matches: [], message: "no matches" });
    });
  });

  describe("hashing", () => {
    it("computes clio's murmur64 partitions, including negative masked values", () => {
      // Expected values computed with clio's Python murmur64 on Python ints.
      assert.equal(fmix64(1n), 12994781566227106604n);
      const sig = BigInt(QUERY_SIGNATURE);
      assert.equal(fmix64(-1n & sig) % 4000n, 2336n);
      assert.equal(fmix64(-(1n << 63n) & sig) % 4000n, 1930n);
      assert.deepEqual(partitionsOf(DEMO_INFO, sig), [2986n, 3799n, 1691n, 2352n]);
    });

    it("parses 64-bit masks written as JSON numbers without rounding", () => {
      const info = parseSignatureInfo(
        '{"block_size": 64, "ham_0": 1, "ham_1": "2", "ham_2": 3, "ham_3": 18446462598732840961}',
      );
      assert.equal(info.ham_3, 18446462598732840961n);
      assert.equal(info.ham_1, 2n);
    });
  });
});
