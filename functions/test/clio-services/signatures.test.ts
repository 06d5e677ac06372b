import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { signaturesApi } from "../../src/api/signatures.js";
import { checkMatrix } from "../helpers/matrix.js";
import {
  call,
  personaTokens,
  seedPersonas,
  serve,
  type Persona,
  type TestServer,
} from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";
import {
  PUBLIC_SIG_DS,
  QUERY,
  QUERY_SIGNATURE,
  seedSignatureDatasets,
  SIG_DS,
  SPARSE_SIG_DS,
  SPARSE_SIGNATURE,
  serveSignatures,
  startSignatureStack,
  UNINDEXED_SIG_DS,
  type SignatureStack,
} from "./stack.js";

interface ErrorBody {
  detail: string;
  code: string;
  issues?: unknown[];
}

describe("/v2/signatures over loopback storage and BigQuery", () => {
  let stack: SignatureStack;
  let server: TestServer;
  let tokens: Record<Persona, string | undefined>;

  before(async () => {
    stack = await startSignatureStack();
    server = await serveSignatures(stack);
    tokens = await personaTokens();
  });
  after(async () => {
    await server.close();
    await stack.close();
  });
  beforeEach(async () => {
    await clearFirestore();
    await seedPersonas();
    await seedSignatureDatasets();
    server.deps.users.invalidate();
    server.deps.datasets.invalidate();
    stack.bigquery.requests.length = 0;
  });

  const get = <T = unknown>(path: string, persona: Persona = "reader") =>
    call<T>(server.url, "GET", path, { token: tokens[persona] });

  describe("GET /atlocation/{dataset}", () => {
    it("returns the exact signature of a seeded point, and of the nearest sample to a point near it", async () => {
      const exact = await get(`/v2/signatures/atlocation/${SIG_DS}?${QUERY}`);
      assert.equal(exact.status, 200);
      assert.deepEqual(exact.body, { point: [96, 96, 96], signature: QUERY_SIGNATURE });
      const near = await get(`/v2/signatures/atlocation/${SIG_DS}/?x=101&y=90&z=99`);
      assert.deepEqual(near.body, { point: [96, 96, 96], signature: QUERY_SIGNATURE });
      // The dataset name is lower-cased for storage, as in clio since 2023.
      const upper = await get(`/v2/signatures/atlocation/DEMO?${QUERY}`, "admin");
      assert.deepEqual(upper.body, { point: [96, 96, 96], signature: QUERY_SIGNATURE });
    });

    it("keeps signatures above 2^53 exact", async () => {
      const res = await get(`/v2/signatures/atlocation/${SPARSE_SIG_DS}?x=12&y=10&z=10`, "admin");
      assert.equal(res.status, 200);
      assert.match(res.text, new RegExp(`"signature":"${SPARSE_SIGNATURE}"`));
    });

    it("reads info.json and each block once while they stay cached", async () => {
      const fresh = await serveSignatures(stack);
      try {
        stack.storage.resetStats();
        for (const q of ["x=96&y=96&z=96", "x=32&y=32&z=32", "x=300&y=32&z=32", "x=98&y=96&z=96"]) {
          const res = await call(fresh.url, "GET", `/v2/signatures/atlocation/${SIG_DS}?${q}`, {
            token: tokens.reader,
          });
          assert.equal(res.status, 200, q);
        }
        // info.json, block 0_0_0 and block 1_0_0.
        assert.equal(stack.storage.stats().requests, 3);
      } finally {
        await fresh.close();
      }
    });

    it("serves a warm block from memory: a repeat lookup reads nothing from storage", async () => {
      await get(`/v2/signatures/atlocation/${SIG_DS}?x=10&y=300&z=20`);
      stack.storage.resetStats();
      const again = await get(`/v2/signatures/atlocation/${SIG_DS}?x=12&y=301&z=19`);
      assert.equal(again.status, 200);
      assert.equal(stack.storage.stats().requests, 0);
    });

    it("answers 404 for a point with no block, an unknown dataset, and a 403 to those without a role", async () => {
      const far = await get<ErrorBody>(`/v2/signatures/atlocation/${SIG_DS}?x=96&y=96&z=9000`);
      assert.equal(far.status, 404);
      assert.equal(far.body.code, "not_found");
      assert.match(far.body.detail, /No signature within 100 voxels/);
      const unknown = await get<ErrorBody>(`/v2/signatures/atlocation/nosuch?${QUERY}`, "admin");
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.code, "not_found");
      const stranger = await get<ErrorBody>(`/v2/signatures/atlocation/nosuch?${QUERY}`, "reader");
      assert.equal(stranger.status, 403);
      assert.equal(stranger.body.code, "permission_denied");
      const noSignatures = await get<ErrorBody>(`/v2/signatures/atlocation/nosigs?${QUERY}`, "admin");
      assert.equal(noSignatures.status, 404);
      assert.match(noSignatures.body.detail, /nosigs/);
      const sparseFar = await get<ErrorBody>(
        `/v2/signatures/atlocation/${SPARSE_SIG_DS}?x=200&y=200&z=200`,
        "admin",
      );
      assert.equal(sparseFar.status, 404);
      assert.match(sparseFar.body.detail, /100 voxels/);
    });

    it("refuses bad coordinates with 400 and says which, before reading anything", async () => {
      stack.storage.resetStats();
      for (const q of [
        "x=1&y=2",
        "x=-1&y=2&z=3",
        "x=abc&y=2&z=3",
        "x=&y=2&z=3",
        "x=1.5&y=2&z=3",
        "x=1e3&y=2&z=3",
        "x=4294967296&y=2&z=3",
        "x=1&x=2&y=2&z=3",
      ]) {
        const res = await get<ErrorBody>(`/v2/signatures/atlocation/${SIG_DS}?${q}`);
        assert.equal(res.status, 400, q);
        assert.equal(res.body.code, "invalid_argument");
        assert.ok(Array.isArray(res.body.issues) && res.body.issues.length > 0, q);
      }
      assert.equal(stack.storage.stats().requests, 0);
    });

    it("permission matrix on a private and a public dataset", async () => {
      const expected = {
        anonymous: 401,
        unknown: 403,
        reader: 200,
        writer: 200,
        datasetAdmin: 200,
        admin: 200,
        disabled: 403,
      };
      await checkMatrix(
        server,
        tokens,
        { method: "GET", path: `/v2/signatures/atlocation/${SIG_DS}?${QUERY}` },
        expected,
        seedSignatureDatasets,
      );
      await checkMatrix(
        server,
        tokens,
        { method: "GET", path: `/v2/signatures/atlocation/${PUBLIC_SIG_DS}?${QUERY}` },
        { ...expected, unknown: 200 },
        seedSignatureDatasets,
      );
    });
  });

  describe("GET /likelocation/{dataset}", () => {
    it("returns the seeded neighbours nearest first, with the 100-voxel suppression", async () => {
      const res = await get<{ matches: { point: number[]; dist: number; score: number }[] }>(
        `/v2/signatures/likelocation/${SIG_DS}?${QUERY}`,
      );
      assert.equal(res.status, 200);
      // besideQuery (64 voxels from the query) and besideNear1 (64 from near1) are suppressed;
      // tooFar is 9 bits away.
      assert.deepEqual(res.body, {
        matches: [
          { point: [416, 352, 160], dist: 1, score: 0.875 },
          { point: [32, 416, 224], dist: 3, score: 0.625 },
          { point: [480, 32, 32], dist: 5, score: 0.375 },
        ],
      });
    });

    it("sends one query whose values are all parameters", async () => {
      await get(`/v2/signatures/likelocation/${SIG_DS}?${QUERY}`);
      const queries = stack.bigquery.queries();
      assert.equal(queries.length, 1);
      type Parameter = { name: string; parameterType: { type: string }; parameterValue: { value: string } };
      const body = queries[0]!.body as {
        query?: string;
        configuration?: { query?: { query: string; queryParameters: Parameter[] } };
        queryParameters?: Parameter[];
      };
      const sql = body.configuration?.query?.query ?? body.query ?? "";
      const parameters = body.configuration?.query?.queryParameters ?? body.queryParameters ?? [];
      assert.deepEqual(parameters.map((p) => p.name).sort(), [
        "max_hamming",
        "part0",
        "part1",
        "part2",
        "part3",
        "signature",
      ]);
      const values = Object.fromEntries(parameters.map((p) => [p.name, p]));
      assert.deepEqual(values.signature, {
        name: "signature",
        parameterType: { type: "INT64" },
        parameterValue: { value: QUERY_SIGNATURE },
      });
      // Partitions as clio's Python computes them for this signature and the demo masks.
      assert.deepEqual(
        [0, 1, 2, 3].map((i) => values[`part${i}`]?.parameterValue.value),
        ["2986", "3799", "1691", "2352"],
      );
      assert.equal(String(values.max_hamming?.parameterValue.value), "8");
      // The only number literal in the text is the fixed LIMIT.
      assert.deepEqual(sql.match(/\b\d+\b/g), ["200"]);
      assert.ok(!sql.includes(QUERY_SIGNATURE.slice(1)), "the signature is not in the SQL text");
      assert.match(sql, /`demo_imgsearch\.hamming0`/);
      assert.match(sql, /`demo_imgsearch\.hamming3`/);
      assert.match(sql, /@signature/);
    });

    it("refuses an injection attempt in the dataset name with 400 before any read or BigQuery request", async () => {
      stack.storage.resetStats();
      for (const name of [
        "demo`%20UNION%20SELECT%201--",
        "demo%3B%20DROP%20TABLE%20x",
        "demo.hamming0",
        "de-mo",
        "demo%60",
        "x".repeat(65),
        "..%2Fdemo",
        "d%C3%A9mo",
      ]) {
        const res = await get<ErrorBody>(`/v2/signatures/likelocation/${name}?${QUERY}`, "admin");
        assert.equal(res.status, 400, name);
        assert.equal(res.body.code, "invalid_argument");
      }
      assert.equal(stack.bigquery.requests.length, 0);
      assert.equal(stack.storage.stats().requests, 0);
    });

    it("says so when nothing similar exists", async () => {
      const res = await get(`/v2/signatures/likelocation/${SIG_DS}?x=32&y=32&z=32`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { matches: [], message: "no matches" });
    });

    it("answers 404 without a similarity index, and for a point with no signature near it", async () => {
      const unindexed = await get<ErrorBody>(`/v2/signatures/likelocation/${UNINDEXED_SIG_DS}?${QUERY}`);
      assert.equal(unindexed.status, 404);
      assert.match(unindexed.body.detail, /no similarity index/);
      const far = await get<ErrorBody>(`/v2/signatures/likelocation/${SIG_DS}?x=9000&y=0&z=0`);
      assert.equal(far.status, 404);
      assert.equal(stack.bigquery.queries().length, 1, "only the unindexed dataset reached BigQuery");
    });

    it("permission matrix on a private and a public dataset", async () => {
      const expected = {
        anonymous: 401,
        unknown: 403,
        reader: 200,
        writer: 200,
        datasetAdmin: 200,
        admin: 200,
        disabled: 403,
      };
      await checkMatrix(
        server,
        tokens,
        { method: "GET", path: `/v2/signatures/likelocation/${SIG_DS}?${QUERY}` },
        expected,
        seedSignatureDatasets,
      );
      await checkMatrix(
        server,
        tokens,
        { method: "GET", path: `/v2/signatures/likelocation/${PUBLIC_SIG_DS}?${QUERY}` },
        { ...expected, unknown: 200 },
        seedSignatureDatasets,
      );
    });
  });

  describe("configuration and upstream faults", () => {
    it("answers 503 on both routes when SIG_BUCKET is unset", async () => {
      const bare = await serve(signaturesApi, { bigqueryApiEndpoint: stack.bigquery.url });
      try {
        for (const route of ["atlocation", "likelocation"]) {
          const res = await call<ErrorBody>(bare.url, "GET", `/v2/signatures/${route}/${SIG_DS}?${QUERY}`, {
            token: tokens.admin,
          });
          assert.equal(res.status, 503, route);
          assert.equal(res.body.code, "unavailable");
        }
      } finally {
        await bare.close();
      }
    });

    it("answers 502 when BigQuery refuses the query, without leaking its message", async () => {
      // BigQuery's own error shape; a 403 is final, so the client does not retry it.
      const refusing = createServer((_req, res) =>
        res.writeHead(403, { "content-type": "application/json" }).end(
          JSON.stringify({
            error: {
              code: 403,
              message: "Access Denied: Table demo_imgsearch.hamming0: internal detail",
              errors: [{ reason: "accessDenied" }],
            },
          }),
        ),
      );
      await new Promise<void>((resolve) => refusing.listen(0, "127.0.0.1", resolve));
      const broken = await serveSignatures(stack, {
        bigqueryApiEndpoint: `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`,
      });
      try {
        const res = await call<ErrorBody>(
          broken.url,
          "GET",
          `/v2/signatures/likelocation/${SIG_DS}?${QUERY}`,
          {
            token: tokens.admin,
          },
        );
        assert.equal(res.status, 502);
        assert.deepEqual(res.body, { detail: "The similarity search failed", code: "bad_gateway" });
      } finally {
        await broken.close();
        refusing.close();
      }
    });
  });
});
