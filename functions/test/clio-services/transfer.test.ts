import assert from "node:assert/strict";
import { Storage } from "@google-cloud/storage";
import { FieldValue } from "firebase-admin/firestore";
import { decodeJwt } from "jose";
import { startStorageServer, type StorageServer } from "../../loopback/storage.js";
import { startTransferServer, type TransferServer } from "../../loopback/transfer.js";
import { transferApi } from "../../src/api/transfer.js";
import type { ConfigInput } from "../../src/config.js";
import { firestore } from "../../src/store/firebase.js";
import { checkMatrix } from "../helpers/matrix.js";
import {
  call,
  personaTokens,
  PRIVATE_DS,
  PUBLIC_DS,
  seedPersonas,
  serve,
  type Persona,
  type TestServer,
} from "../helpers/server.js";
import { clearFirestore, TEST_PROJECT_ID } from "../setup/hooks.js";
import {
  GRAYSCALE,
  seedServiceFields,
  startMetadataServer,
  TRANSFER_MODEL,
  type MetadataServer,
} from "./stack.js";

const DEST = "transfer-out";

interface ErrorBody {
  detail: string;
  code: string;
}

describe("POST /v2/transfer through the real storage and auth clients", () => {
  let storage: StorageServer;
  let transfer: TransferServer;
  let metadata: MetadataServer;
  let client: Storage;
  let tokens: Record<Persona, string | undefined>;
  const servers: TestServer[] = [];

  const start = async (overrides: Partial<ConfigInput> = {}) => {
    const s = await serve(transferApi, {
      transferFunc: transfer.url,
      transferDest: DEST,
      storageApiEndpoint: storage.url,
      ...overrides,
    });
    servers.push(s);
    return s;
  };
  let server: TestServer;

  before(async () => {
    storage = await startStorageServer();
    transfer = await startTransferServer();
    metadata = await startMetadataServer();
    // google-auth-library finds the "runtime's" metadata server here, as on Cloud Functions.
    metadata.install();
    client = new Storage({ apiEndpoint: storage.url, projectId: TEST_PROJECT_ID });
    tokens = await personaTokens();
    server = await start();
  });
  after(async () => {
    metadata.uninstall();
    for (const s of servers) await s.close();
    await metadata.close();
    await transfer.close();
    await storage.close();
  });
  beforeEach(async () => {
    await clearFirestore();
    await seedPersonas();
    await seedServiceFields();
    for (const s of servers) {
      s.deps.users.invalidate();
      s.deps.datasets.invalidate();
    }
    transfer.requests.length = 0;
    transfer.failNext(0);
    transfer.hang = false;
    storage.clear();
  });

  const body = { dataset: PRIVATE_DS, model_name: TRANSFER_MODEL, center: [1000, 2000, 3000] };
  const post = <T = unknown>(
    s: TestServer,
    persona: Persona,
    payload: unknown = body,
    path = "/v2/transfer/",
  ) => call<T>(s.url, "POST", path, { token: tokens[persona], body: payload });

  it("fans out exactly eight block jobs with an identity token for the service, and links the output", async () => {
    const res = await post<{ addr: string }>(server, "reader");
    assert.equal(res.status, 200, JSON.stringify(res.body));

    const [base, fragment] = res.body.addr.split("#!");
    assert.equal(base, "https://neuroglancer-demo.appspot.com/");
    const state = JSON.parse(decodeURIComponent(fragment ?? "")) as { layers: { source: { url: string } }[] };
    const source = state.layers[0]!.source.url;
    const dir = /^precomputed:\/\/gs:\/\/transfer-out\/([a-z]{20})$/.exec(source)?.[1];
    assert.ok(dir, source);

    const [info] = await client.bucket(DEST).file(`${dir}/info`).download();
    assert.deepEqual(JSON.parse(info.toString()), {
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

    assert.equal(transfer.requests.length, 8);
    const starts = new Set<string>();
    for (const r of transfer.requests) {
      const token = /^Bearer (.+)$/.exec(r.authorization ?? "")?.[1];
      assert.ok(token, "each job carries a bearer token");
      const claims = decodeJwt(token);
      assert.equal(claims.aud, transfer.url, "an identity token for the transfer service's audience");
      assert.equal(claims.iss, "https://accounts.google.com");
      const job = r.body as {
        location: string;
        glbstart: number[];
        start: number[];
        size: number[];
        model_name: string;
        dest: string;
      };
      assert.deepEqual(job.glbstart, [872, 1872, 2872]);
      assert.equal(job.location, GRAYSCALE);
      assert.equal(job.model_name, TRANSFER_MODEL);
      assert.equal(job.dest, `${DEST}/${dir}/8.0x8.0x8.0`);
      assert.deepEqual(job.size, [128, 128, 128]);
      starts.add(job.start.join(","));
    }
    assert.deepEqual(
      [...starts].sort(),
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
      "the eight blocks around the center",
    );
    assert.ok(metadata.identityRequests.includes(transfer.url));
  });

  it("answers with and without the trailing slash", async () => {
    assert.equal((await post(server, "writer", body, "/v2/transfer")).status, 200);
    assert.equal((await post(server, "writer", body, "/v2/transfer/")).status, 200);
    assert.equal(transfer.requests.length, 16);
  });

  it("refuses a model not listed for the dataset with 400, before any side effect", async () => {
    const res = await post<ErrorBody>(server, "admin", { ...body, model_name: "cleft:v9" });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, "invalid_argument");
    assert.match(res.body.detail, /cleft:v9 is not available/);
    // A dataset that lists no transfer models offers none.
    await firestore().collection("clio_datasets").doc(PUBLIC_DS).update({ transfer: FieldValue.delete() });
    server.deps.datasets.invalidate();
    const none = await post<ErrorBody>(server, "admin", { ...body, dataset: PUBLIC_DS });
    assert.equal(none.status, 400);
    assert.equal(none.body.code, "invalid_argument");
    assert.equal(transfer.requests.length, 0);
    const [files] = await client.bucket(DEST).getFiles();
    assert.equal(files.length, 0);
  });

  it("refuses bad bodies with 400", async () => {
    for (const bad of [
      {},
      { ...body, center: [1, 2] },
      { ...body, center: [1, 2, 3.5] },
      { ...body, center: "1,2,3" },
      { ...body, dataset: "" },
      { dataset: PRIVATE_DS, center: [1, 2, 3] },
      [],
    ]) {
      const res = await post<ErrorBody>(server, "admin", bad);
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.equal(res.body.code, "invalid_argument");
    }
    assert.equal(transfer.requests.length, 0);
  });

  it("answers 404 for an unknown dataset to admins and 403 to others", async () => {
    const missing = { ...body, dataset: "nosuch" };
    assert.equal((await post(server, "admin", missing)).status, 404);
    assert.equal((await post(server, "reader", missing)).status, 403);
  });

  it("permission matrix on the private and the public dataset (public does not count)", async () => {
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
      { method: "POST", path: "/v2/transfer/", body },
      expected,
      seedServiceFields,
    );
    await checkMatrix(
      server,
      tokens,
      { method: "POST", path: "/v2/transfer", body: { ...body, dataset: PUBLIC_DS } },
      // Transfer needs a role on the dataset itself (security M3): the public level does not count,
      // and the personas hold roles on private-ds only.
      { ...expected, reader: 403, writer: 403, datasetAdmin: 403 },
      seedServiceFields,
    );
  });

  it("lets TRANSFER_ROLE decide who may transfer", async () => {
    const strict = await start({ transferRole: "clio_write" });
    await checkMatrix(
      strict,
      tokens,
      { method: "POST", path: "/v2/transfer", body },
      {
        anonymous: 401,
        unknown: 403,
        reader: 403,
        writer: 200,
        datasetAdmin: 200,
        admin: 200,
        disabled: 403,
      },
      seedServiceFields,
    );
  });

  it("retries failed blocks and answers 502 when the service keeps failing, 504 when it hangs", async () => {
    transfer.failNext(3, 503);
    assert.equal((await post(server, "reader")).status, 200);
    assert.equal(transfer.requests.length, 11, "three blocks were retried once");

    const twoRetries = await start({ transferRetries: 2 });
    transfer.requests.length = 0;
    transfer.failNext(1000, 500);
    const failed = await post<ErrorBody>(twoRetries, "reader");
    assert.equal(failed.status, 502);
    assert.equal(failed.body.code, "bad_gateway");
    assert.match(failed.body.detail, /8 of 8/);
    assert.equal(transfer.requests.length, 24, "each block tried three times");

    // A job the service refuses (4xx) is not retried.
    transfer.requests.length = 0;
    transfer.failNext(1000, 400);
    const refused = await post<ErrorBody>(server, "reader");
    assert.equal(refused.status, 502);
    assert.equal(transfer.requests.length, 8);

    transfer.failNext(0);
    transfer.hang = true;
    const slow = await start({ transferTimeoutSeconds: 1 });
    const timedOut = await post<ErrorBody>(slow, "reader");
    assert.equal(timedOut.status, 504);
    assert.equal(timedOut.body.code, "deadline_exceeded");
    assert.doesNotMatch(timedOut.text, /at .*\.ts|Error:/);
  });

  it("answers 503 when TRANSFER_FUNC or TRANSFER_DEST is unset", async () => {
    for (const overrides of [{ transferFunc: "" }, { transferDest: "" }]) {
      const bare = await start(overrides);
      const res = await post<ErrorBody>(bare, "admin");
      assert.equal(res.status, 503);
      assert.equal(res.body.code, "unavailable");
    }
  });
});
