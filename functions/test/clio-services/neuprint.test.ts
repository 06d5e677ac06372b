import assert from "node:assert/strict";
import { startNeuprintServer, type NeuprintServer } from "../../loopback/neuprint.js";
import { neuprintApi } from "../../src/api/neuprint.js";
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
import { clearFirestore } from "../setup/hooks.js";
import { seedServiceFields } from "./stack.js";

const NEUPRINT_TOKEN = "neuprint-app-credential";

interface ErrorBody {
  detail: string;
  code: string;
}

describe("POST /v2/neuprint/{dataset}", () => {
  let neuprint: NeuprintServer;
  let tokens: Record<Persona, string | undefined>;
  let server: TestServer;
  const servers: TestServer[] = [];

  const start = async (overrides: Partial<ConfigInput> = {}) => {
    const s = await serve(neuprintApi, {
      neuprintToken: NEUPRINT_TOKEN,
      neuprintBaseUrl: neuprint.url,
      neuprintTimeoutSeconds: 1,
      ...overrides,
    });
    servers.push(s);
    return s;
  };

  before(async () => {
    neuprint = await startNeuprintServer({ token: NEUPRINT_TOKEN });
    tokens = await personaTokens();
    server = await start();
  });
  after(async () => {
    for (const s of servers) await s.close();
    await neuprint.close();
  });
  beforeEach(async () => {
    await clearFirestore();
    await seedPersonas();
    await seedServiceFields();
    for (const s of servers) {
      s.deps.users.invalidate();
      s.deps.datasets.invalidate();
    }
    neuprint.requests.length = 0;
    neuprint.replies.length = 0;
  });

  const body = { cypher: "MATCH (n:hemibrain_Neuron) RETURN count(n)", dataset: "hemibrain:v1.2.1" };
  const post = <T = unknown>(persona: Persona, payload: unknown = body, ds = PRIVATE_DS, s = server) =>
    call<T>(s.url, "POST", `/v2/neuprint/${ds}`, { token: tokens[persona], body: payload });

  it("forwards the query with the deployment's credential and returns neuPrint's JSON", async () => {
    const res = await post("reader");
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { columns: ["dataset"], data: [["hemibrain:v1.2.1"]] });
    assert.deepEqual(neuprint.requests, [
      { method: "POST", path: "/api/custom/custom", authorization: `Bearer ${NEUPRINT_TOKEN}`, body },
    ]);
    // The caller's own token never travels upstream.
    assert.ok(!JSON.stringify(neuprint.requests).includes(tokens.reader!));
  });

  it("refuses to query another neuPrint dataset with the deployment's credential", async () => {
    const res = await post<ErrorBody>("admin", {
      cypher: "MATCH (n:manc_Neuron) RETURN n",
      dataset: "manc:v1.0",
    });
    assert.equal(res.status, 403);
    assert.equal(res.body.code, "permission_denied");
    assert.match(res.body.detail, /only query neuPrint dataset hemibrain/);
    assert.equal(neuprint.requests.length, 0);
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
      { method: "POST", path: `/v2/neuprint/${PRIVATE_DS}`, body },
      expected,
      seedServiceFields,
    );
    await checkMatrix(
      server,
      tokens,
      { method: "POST", path: `/v2/neuprint/${PUBLIC_DS}/`, body },
      // The neuPrint proxy needs a role on the dataset itself: public does not count (H2), and
      // the personas hold roles on private-ds only.
      { ...expected, reader: 403, writer: 403, datasetAdmin: 403 },
      seedServiceFields,
    );
  });

  it("refuses bad input with 400 and sends nothing upstream", async () => {
    for (const bad of [
      {},
      { cypher: "" },
      { cypher: "MATCH (n) RETURN n" },
      { ...body, cypher: 5 },
      "text",
    ]) {
      const res = await post<ErrorBody>("admin", bad);
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.equal(res.body.code, "invalid_argument");
    }
    const badName = await post<ErrorBody>("admin", body, "bad%2Fname");
    assert.equal(badName.status, 400);
    assert.equal(neuprint.requests.length, 0);
  });

  it("answers 404 for an unknown dataset (403 to others) and 412 for one without neuPrint", async () => {
    assert.equal((await post("admin", body, "nosuch")).status, 404);
    assert.equal((await post("reader", body, "nosuch")).status, 403);
    await firestore().collection("clio_datasets").doc("plain").set({ description: "no neuPrint" });
    server.deps.datasets.invalidate();
    const plain = await post<ErrorBody>("admin", body, "plain");
    assert.equal(plain.status, 412);
    assert.equal(plain.body.code, "failed_precondition");
    // Without NEUPRINT_BASE_URL the dataset's server becomes the URL's host: a value that is not a
    // bare host name is refused, never requested.
    await firestore()
      .collection("clio_datasets")
      .doc("evil")
      .set({ description: "bad host", neuprintHTTP: { server: "evil.example/steal?x=" } });
    const direct = await start({ neuprintBaseUrl: "" });
    const evil = await post<ErrorBody>("admin", body, "evil", direct);
    assert.equal(evil.status, 412);
    assert.match(evil.body.detail, /invalid neuPrint server/);
    assert.equal(neuprint.requests.length, 0);
  });

  it("passes neuPrint's complaint about a query back as a 400", async () => {
    neuprint.replies.push({ status: 400, body: JSON.stringify({ error: "Invalid input 'RETRUN'" }) });
    const res = await post<ErrorBody>("reader");
    assert.equal(res.status, 400);
    assert.match(res.body.detail, /Invalid input 'RETRUN'/);
  });

  it("maps neuPrint faults to 502 without passing internals on", async () => {
    neuprint.replies.push({ status: 500, body: "Traceback (most recent call last): secret internals" });
    const failed = await post<ErrorBody>("reader");
    assert.equal(failed.status, 502);
    assert.equal(failed.body.code, "bad_gateway");
    assert.doesNotMatch(failed.text, /Traceback|secret internals/);

    neuprint.replies.push({ status: 200, body: "<html>not json</html>" });
    assert.equal((await post("reader")).status, 502);

    // neuPrint refusing the server's credential is the deployment's fault, not the caller's.
    const wrongKey = await start({ neuprintToken: "stale-credential" });
    const refused = await post<ErrorBody>("reader", body, PRIVATE_DS, wrongKey);
    assert.equal(refused.status, 502);
    assert.match(refused.body.detail, /credential/);
    assert.ok(!refused.text.includes("stale-credential"));

    const unreachable = await start({ neuprintBaseUrl: "http://127.0.0.1:9" });
    assert.equal((await post("reader", body, PRIVATE_DS, unreachable)).status, 502);
  });

  it("answers 504 when neuPrint does not answer in time", async () => {
    neuprint.replies.push({ hang: true });
    const res = await post<ErrorBody>("reader");
    assert.equal(res.status, 504);
    assert.equal(res.body.code, "deadline_exceeded");
  });

  it("answers 503 when the neuPrint credential is not configured", async () => {
    const bare = await start({ neuprintToken: "" });
    const res = await post<ErrorBody>("admin", body, PRIVATE_DS, bare);
    assert.equal(res.status, 503);
    assert.equal(res.body.code, "unavailable");
  });
});
