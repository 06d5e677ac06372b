import assert from "node:assert/strict";
import { startTransferServer, type TransferServer } from "../../loopback/transfer.js";
import { ApiError } from "../../src/errors.js";
import { createTransferService, type TransferDeps } from "../../src/services/transfer.js";

const DATASETS: Record<string, unknown> = {
  hemibrain: {
    description: "x",
    location: "gs://grayscale/hemibrain/jpeg",
    transfer: ["denoise:v1", "cleft:v2"],
  },
  vnc: { description: "y", source: "precomputed://gs://grayscale/vnc" },
};

async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe("transfer", () => {
  let server: TransferServer;
  let written: Map<string, { data: string; contentType: string }>;

  before(async () => {
    server = await startTransferServer();
  });
  after(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
    server.failNext(0);
    server.hang = false;
    written = new Map();
  });

  const service = (overrides: Partial<TransferDeps> = {}) =>
    createTransferService({
      transferUrl: server.url,
      destBucket: "transfer-out",
      getDataset: (name) => Promise.resolve(DATASETS[name]),
      writeObject: (bucket, path, data, contentType) => {
        written.set(`${bucket}/${path}`, { data, contentType });
        return Promise.resolve();
      },
      idTokenFor: (audience) => Promise.resolve(`id-token-for:${audience}`),
      retryDelayMs: 1,
      randomName: () => "abcdefghijklmnopqrst",
      ...overrides,
    });

  const body = { dataset: "hemibrain", model_name: "denoise:v1", center: [1000, 2000, 3000] };

  it("fans out exactly eight block jobs with an identity token and returns a Neuroglancer link", async () => {
    const answer = await service().transfer(body);

    const state: unknown = JSON.parse(decodeURIComponent(answer.addr.split("#!")[1] ?? ""));
    assert.ok(answer.addr.startsWith("https://neuroglancer-demo.appspot.com/#!"));
    assert.deepEqual(
      (state as { layers: { source: { url: string } }[] }).layers[0]?.source.url,
      "precomputed://gs://transfer-out/abcdefghijklmnopqrst",
    );

    const info = written.get("transfer-out/abcdefghijklmnopqrst/info");
    assert.ok(info, "the precomputed info is written");
    assert.deepEqual(JSON.parse(info.data), {
      "@type": "neuroglancer_multiscale_volume",
      data_type: "uint8",
      num_channels: 1,
      scales: [
        {
          chunk_sizes: [[64, 64, 64]],
          encoding: "raw",
          key: "8.0x8.0x8.0",
          resolution: [8, 8, 8],
          size: [256, 256, 256],
          offset: [0, 0, 0],
        },
      ],
      type: "image",
    });

    assert.equal(server.requests.length, 8);
    for (const r of server.requests) {
      assert.equal(r.method, "POST");
      assert.equal(r.authorization, `Bearer id-token-for:${server.url}`);
      assert.deepEqual(
        { ...(r.body as object), start: undefined },
        {
          location: "gs://grayscale/hemibrain/jpeg",
          glbstart: [872, 1872, 2872],
          start: undefined,
          size: [128, 128, 128],
          model_name: "denoise:v1",
          dest: "transfer-out/abcdefghijklmnopqrst/8.0x8.0x8.0",
        },
      );
    }
    const starts = server.requests.map((r) => (r.body as { start: number[] }).start.join(",")).sort();
    assert.deepEqual(
      starts,
      [
        "1000,2000,3000",
        "1000,2000,2872",
        "1000,1872,3000",
        "1000,1872,2872",
        "872,2000,3000",
        "872,2000,2872",
        "872,1872,3000",
        "872,1872,2872",
      ].sort(),
    );
  });

  it("refuses a model not listed for the dataset, before any side effect", async () => {
    await rejectsWith(
      service().transfer({ ...body, model_name: "other:v9" }),
      "invalid_argument",
      /other:v9/,
    );
    await rejectsWith(service().transfer({ ...body, dataset: "vnc" }), "invalid_argument");
    assert.equal(server.requests.length, 0);
    assert.equal(written.size, 0);
  });

  it("answers not found for an unknown dataset and 400 for a malformed body", async () => {
    await rejectsWith(service().transfer({ ...body, dataset: "nosuch" }), "not_found");
    await rejectsWith(
      service().transfer({ dataset: "hemibrain", model_name: "denoise:v1" }),
      "invalid_argument",
    );
    await rejectsWith(service().transfer({ ...body, center: ["1", 2, 3] }), "invalid_argument");
    assert.equal(server.requests.length, 0);
  });

  it("is unavailable when the transfer service or destination is not configured", async () => {
    await rejectsWith(service({ transferUrl: "" }).transfer(body), "unavailable");
    await rejectsWith(service({ destBucket: "" }).transfer(body), "unavailable");
  });

  it("retries blocks the service fails transiently", async () => {
    server.failNext(3, 503);
    const answer = await service().transfer(body);
    assert.match(answer.addr, /abcdefghijklmnopqrst/);
    assert.equal(server.requests.length, 11);
    const distinctStarts = new Set(
      server.requests.map((r) => JSON.stringify((r.body as { start: unknown }).start)),
    );
    assert.equal(distinctStarts.size, 8);
  });

  it("gives up after the bounded retries with a bad-gateway error", async () => {
    server.failNext(1000, 500);
    await rejectsWith(service({ retries: 2 }).transfer(body), "bad_gateway", /8 of 8/);
    assert.equal(server.requests.length, 24);
  });

  it("does not retry a request the service refuses", async () => {
    server.failNext(1000, 400);
    await rejectsWith(service().transfer(body), "bad_gateway");
    assert.equal(server.requests.length, 8);
  });

  it("stops at its time limit", async () => {
    server.hang = true;
    await rejectsWith(service({ timeoutMs: 300 }).transfer(body), "deadline_exceeded");
  });
});
