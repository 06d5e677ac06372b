import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { startNeuprintServer, type NeuprintServer } from "../../loopback/neuprint.js";
import { ApiError } from "../../src/errors.js";
import type { User } from "../../src/schemas/users.js";
import { createNeuprintService, type NeuprintDeps } from "../../src/services/neuprint.js";

const ADMIN: User = {
  email: "admin@example.org",
  name: null,
  org: null,
  disabled: false,
  global_roles: ["admin"],
  datasets: {},
  groups: [],
};

const DATASETS: Record<string, unknown> = {
  hemibrain: { description: "x", neuprintHTTP: { server: "neuprint.janelia.org", dataset: "hemibrain" } },
  nonp: { description: "no neuPrint" },
  evil: { description: "bad host", neuprintHTTP: { server: "evil.example/steal?x=" } },
};

async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe("neuprint proxy", () => {
  let server: NeuprintServer;
  const body = { cypher: "MATCH (n:hemibrain_Neuron) RETURN count(n)", dataset: "hemibrain:v1.2.1" };

  before(async () => {
    server = await startNeuprintServer({ token: "secret-neuprint-token" });
  });
  after(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
    server.replies.length = 0;
  });

  const service = (overrides: Partial<NeuprintDeps> = {}) =>
    createNeuprintService({
      token: "secret-neuprint-token",
      getDataset: (name) => Promise.resolve(DATASETS[name]),
      baseUrl: server.url,
      ...overrides,
    });

  it("forwards the query with the configured credential and returns neuPrint's JSON", async () => {
    const answer = await service().query(ADMIN, "hemibrain", { ...body, extra: "dropped" });
    assert.deepEqual(answer, { columns: ["dataset"], data: [["hemibrain:v1.2.1"]] });
    assert.deepEqual(server.requests, [
      { method: "POST", path: "/api/custom/custom", authorization: "Bearer secret-neuprint-token", body },
    ]);
  });

  it("refuses to query another neuPrint dataset with the server's credential", async () => {
    await rejectsWith(
      service().query(ADMIN, "hemibrain", { cypher: "MATCH (n:manc_Neuron) RETURN n", dataset: "manc:v1.0" }),
      "permission_denied",
      /only query neuPrint dataset hemibrain/,
    );
    assert.equal(server.requests.length, 0);
  });

  it("passes neuPrint's complaint about a bad query back as a 400", async () => {
    server.replies.push({ status: 400, body: JSON.stringify({ error: "Invalid input 'RETRUN'" }) });
    await rejectsWith(
      service().query(ADMIN, "hemibrain", body),
      "invalid_argument",
      /Invalid input 'RETRUN'/,
    );
  });

  it("reports a refused server credential as a gateway fault, not the caller's", async () => {
    await rejectsWith(
      service({ token: "wrong" }).query(ADMIN, "hemibrain", body),
      "bad_gateway",
      /credential/,
    );
  });

  it("maps neuPrint server errors and unreachable servers to bad_gateway", async () => {
    server.replies.push({ status: 502, body: "upstream exploded\nTraceback ..." });
    await assert.rejects(service().query(ADMIN, "hemibrain", body), (err: unknown) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.code, "bad_gateway");
      assert.doesNotMatch(err.message, /Traceback/);
      return true;
    });

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await rejectsWith(
      service({ baseUrl: `http://127.0.0.1:${port}` }).query(ADMIN, "hemibrain", body),
      "bad_gateway",
    );
  });

  it("maps invalid JSON from neuPrint to bad_gateway", async () => {
    server.replies.push({ status: 200, body: "<html>maintenance</html>" });
    await rejectsWith(service().query(ADMIN, "hemibrain", body), "bad_gateway", /invalid JSON/);
  });

  it("times out a neuPrint that does not answer", async () => {
    server.replies.push({ hang: true });
    await rejectsWith(service({ timeoutMs: 200 }).query(ADMIN, "hemibrain", body), "deadline_exceeded");
  });

  it("refuses bad requests and unsuitable datasets without calling neuPrint", async () => {
    await rejectsWith(service().query(ADMIN, "hemibrain", { cypher: "", dataset: "x" }), "invalid_argument");
    await rejectsWith(service().query(ADMIN, "hemibrain", { dataset: "x" }), "invalid_argument");
    await rejectsWith(service().query(ADMIN, "nosuch", body), "not_found");
    await rejectsWith(service().query(ADMIN, "nonp", body), "failed_precondition");
    await rejectsWith(service({ baseUrl: "" }).query(ADMIN, "evil", body), "failed_precondition", /invalid/);
    await rejectsWith(service({ token: "" }).query(ADMIN, "hemibrain", body), "unavailable");
    assert.deepEqual(server.requests, []);
  });

  it("uses https://{server}/api/custom/custom by default", async () => {
    const urls: string[] = [];
    const fakeFetch: typeof fetch = (input) => {
      urls.push(input instanceof Request ? input.url : input.toString());
      return Promise.resolve(new Response(JSON.stringify({ columns: [], data: [] }), { status: 200 }));
    };
    await service({ baseUrl: "", fetch: fakeFetch }).query(ADMIN, "hemibrain", body);
    assert.deepEqual(urls, ["https://neuprint.janelia.org/api/custom/custom"]);
  });
});
