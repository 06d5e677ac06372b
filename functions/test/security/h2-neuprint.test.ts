/**
 * Security review H2: the neuPrint proxy runs Cypher under the deployment's credential, so it
 * needs an explicit role, keeps the Cypher inside the dataset's own neuPrint dataset, and caps
 * the answer. The review's attack requests get the safe answer and reach nothing upstream.
 */
import assert from "node:assert/strict";
import { startNeuprintServer, type NeuprintServer } from "../../loopback/neuprint.js";
import { neuprintApi } from "../../src/api/neuprint.js";
import { assertBoundToDataset } from "../../src/services/neuprint-cypher.js";
import { ApiError } from "../../src/errors.js";
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
import { seedServiceFields } from "../clio-services/stack.js";

const CREDENTIAL = "neuprint-app-credential";

describe("security H2: neuPrint proxy", () => {
  let neuprint: NeuprintServer;
  let server: TestServer;
  let small: TestServer;
  let tokens: Record<Persona, string | undefined>;

  before(async () => {
    neuprint = await startNeuprintServer({ token: CREDENTIAL });
    tokens = await personaTokens();
    const config = { neuprintToken: CREDENTIAL, neuprintBaseUrl: neuprint.url };
    server = await serve(neuprintApi, config);
    small = await serve(neuprintApi, { ...config, neuprintMaxResponseBytes: 4096 });
  });
  after(async () => {
    await server.close();
    await small.close();
    await neuprint.close();
  });
  beforeEach(async () => {
    await clearFirestore();
    await seedPersonas();
    await seedServiceFields();
    for (const s of [server, small]) {
      s.deps.users.invalidate();
      s.deps.datasets.invalidate();
    }
    neuprint.requests.length = 0;
    neuprint.replies.length = 0;
  });

  const post = (persona: Persona, ds: string, cypher: string, s = server) =>
    call<{ detail: string; code: string }>(s.url, "POST", `/v2/neuprint/${ds}`, {
      token: tokens[persona],
      body: { dataset: "hemibrain", cypher },
    });

  it("any Google account on a public dataset: 403, the public level does not reach neuPrint", async () => {
    const res = await post("unknown", PUBLIC_DS, "MATCH (m:Meta) RETURN m.dataset, m.lastDatabaseEdit");
    assert.equal(res.status, 403);
    assert.match(res.body.detail, /explicit role/);
    assert.equal(neuprint.requests.length, 0);
  });

  it("a reader cannot list other datasets (:Meta) or read another dataset's neurons", async () => {
    const meta = await post("reader", PRIVATE_DS, "MATCH (m:Meta) RETURN m.dataset, m.lastDatabaseEdit");
    assert.equal(meta.status, 400);
    assert.match(meta.body.detail, /Label Meta is not a label of neuPrint dataset hemibrain/);
    const other = await post("reader", PRIVATE_DS, "MATCH (n:`unpublished-ds_Neuron`) RETURN n LIMIT 100000");
    assert.equal(other.status, 400);
    assert.match(other.body.detail, /unpublished-ds_Neuron/);
    assert.equal(neuprint.requests.length, 0);
  });

  it("runs a query bound to the dataset", async () => {
    const res = await post("reader", PRIVATE_DS, "MATCH (m:hemibrain_Meta) RETURN m.lastDatabaseEdit");
    assert.equal(res.status, 200);
    assert.equal(neuprint.requests.length, 1);
  });

  it("caps neuPrint's answer: a huge answer is a 502, not an instance OOM", async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => [i, "x".repeat(20)]);
    neuprint.replies.push({ status: 200, body: JSON.stringify({ columns: ["a", "b"], data: rows }) });
    const res = await post("reader", PRIVATE_DS, "MATCH (n:hemibrain_Neuron) RETURN n.bodyId, n.type", small);
    assert.equal(res.status, 502);
    assert.match(res.body.detail, /more than 4096 bytes/);
    // An error text from neuPrint is read only in part too.
    neuprint.replies.push({ status: 400, body: JSON.stringify({ error: "e".repeat(200_000) }) });
    const err = await post("reader", PRIVATE_DS, "MATCH (n:hemibrain_Neuron) RETURN n", small);
    assert.equal(err.status, 400);
    assert.ok(err.text.length < 2000, `error text of ${err.text.length} characters relayed`);
  });

  describe("Cypher binding", () => {
    const refused = [
      "MATCH (n) RETURN n",
      "MATCH (n:Neuron) RETURN n",
      "MATCH (a:hemibrain_Neuron), (b) RETURN b",
      "MATCH (a:hemibrain_Neuron) MATCH (b) RETURN b",
      "MATCH (n:hemibrain_Neuron) WITH 1 AS x MATCH (n) RETURN n",
      "MATCH (a:hemibrain_Neuron)-[*]-(b) RETURN b",
      "MATCH (a:hemibrain_Meta)--(d)--(x) RETURN x",
      "MATCH (n:hemibrain_Neuron|manc_Neuron) RETURN n",
      "MATCH (n:hemibrain_Neuron:manc_Neuron) RETURN n",
      "MATCH (n IS manc_Neuron) RETURN n",
      "MATCH (n:`manc_Neuron`) RETURN n",
      "MATCH (n:hemibrain_v2_Neuron) RETURN n",
      "MATCH (n:hemibrain_Neuron) WHERE n:manc_Neuron RETURN n",
      "MATCH (n:hemibrain_Neuron) // comment\n , (m) RETURN m",
      'MATCH (n:hemibrain_Neuron {type: ")"}), (m) RETURN m',
      "CALL db.labels()",
      "call db.labels() yield label return label",
      "RETURN apoc.cypher.runFirstColumnMany('MATCH (n) RETURN n', {})",
      "LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l",
      "MATCH (n:hemibrain_Neuron) SET n.type = 'x'",
      "MATCH (n:hemibrain_Neuron) DETACH DELETE n",
      "CREATE (n:hemibrain_Neuron)",
      "MATCH (n:hemibrain_Neuron) RETURN n; MATCH (m) RETURN m",
      "MATCH (n:hemibrain_Neuron) RETURN [(n)--()--(x) | x]",
      "MATCH (n:hemibrain_Neuron) RETURN n /* unterminated",
      "MATCH (n:hémibrain_Neuron) RETURN n",
    ];
    const accepted = [
      "MATCH (n:hemibrain_Neuron)-[c:ConnectsTo]->(m) WHERE n.bodyId = 1 RETURN m.bodyId, c.weight",
      "MATCH (n:`hemibrain_Neuron` {bodyId: 5}) RETURN n.type, n.status",
      "MATCH (n:hemibrain_Neuron) WHERE exists((n)-[:ConnectsTo]->(:hemibrain_Neuron)) RETURN count(n)",
      "MATCH (m:hemibrain_Meta) RETURN m.lastDatabaseEdit, m.superLevelRois",
      "MATCH (a:hemibrain_Neuron)-[:ConnectsTo*1..2]->(b:hemibrain_Neuron) RETURN count(b)",
      "MATCH (n:hemibrain_Neuron) WHERE n.type STARTS WITH 'KC' AND n.status IS NOT NULL RETURN n.bodyId ORDER BY n.bodyId LIMIT 10",
      "MATCH (n:hemibrain_Neuron)<-[:ConnectsTo]-(up) RETURN up.bodyId, [x IN [1, 2, 3] | x * 2], {a: up.type}",
      "MATCH (n:hemibrain_Neuron) WHERE n.bodyId IN $ids RETURN n {.bodyId, .type}",
    ];
    for (const cypher of refused) {
      it(`refuses ${JSON.stringify(cypher)}`, () => {
        assert.throws(
          () => assertBoundToDataset(cypher, "hemibrain"),
          (err: unknown) => err instanceof ApiError && err.code === "invalid_argument",
        );
      });
    }
    for (const cypher of accepted) {
      it(`accepts ${JSON.stringify(cypher)}`, () => assertBoundToDataset(cypher, "hemibrain"));
    }
  });
});
