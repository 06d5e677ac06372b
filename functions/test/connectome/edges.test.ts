/**
 * available-neurons and get-edges for fixed inputs. The expected bodies were computed with a
 * line-by-line Python port of WormWideWeb's `get_edge_response_data` over the raw files (renames,
 * merge, unknown cells dropped), independent of the service's code.
 */
import assert from "node:assert/strict";
import { connectomeStore } from "../../src/api/connectome.js";
import { firestore } from "../../src/store/firebase.js";
import { checkMatrix } from "../helpers/matrix.js";
import { call, personaTokens, PRIVATE_DS, type Persona } from "../helpers/server.js";
import { connectomeServer, findPathsUrl, ingestFixture } from "./fixture.js";

interface Edges {
  datasets: string[];
  neurons: string[];
  synapses: { pre: string; post: string; type: string; count: number; list_count: number[] }[];
}
interface Available {
  neurons: Record<string, { neuron_class: string; name: string; cell_type: string; cell_type_desc: string }>;
  neuron_classes: Record<string, string[]>;
}
const detail = (body: unknown) => (body as { detail: string }).detail;

/** A private copy of white_1986_whole under the clio dataset `private-ds`. */
async function seedPrivateConnectome(): Promise<void> {
  await ingestFixture(["white_1986_whole"]);
  const db = firestore();
  const doc = (await db.doc("connectome_datasets/white_1986_whole").get()).data()!;
  const graph = (await db.doc("connectome_graphs/white_1986_whole").get()).data()!;
  await db.doc(`connectome_graphs/${PRIVATE_DS}`).set(graph);
  await db.doc(`connectome_datasets/${PRIVATE_DS}`).set({ ...doc, id: PRIVATE_DS, public: false });
}

describe("connectome available-neurons and get-edges", () => {
  let server: Awaited<ReturnType<typeof connectomeServer>>;
  before(async () => {
    server = await connectomeServer();
  });
  after(() => server.close());

  const edges = (body: unknown) => call<Edges>(server.url, "POST", "/v2/connectome/get-edges", { body });

  describe("available-neurons", () => {
    it("lists a dataset's cells and classes with WormWideWeb's fields", async () => {
      const res = await call<Available>(
        server.url,
        "GET",
        "/v2/connectome/available-neurons?datasets=white_1986_whole",
      );
      assert.equal(res.status, 200);
      assert.equal(Object.keys(res.body.neurons).length, 319);
      assert.equal(Object.keys(res.body.neuron_classes).length, 131);
      assert.deepEqual(res.body.neurons.ADAL, {
        neuron_class: "ADA",
        name: "ADAL",
        cell_type: "i",
        cell_type_desc: "interneuron",
      });
      assert.deepEqual(res.body.neuron_classes.ADA, ["ADAL", "ADAR"]);
      // Renamed on import: the source's VA8 is served as VA08.
      assert.ok(res.body.neurons.VA08 && !res.body.neurons.VA8);
      assert.equal(res.headers.get("cache-control"), "public, max-age=7776000");
      const etag = res.headers.get("etag")!;
      const again = await call(
        server.url,
        "GET",
        "/v2/connectome/available-neurons?datasets=white_1986_whole",
        {
          headers: { "if-none-match": etag },
        },
      );
      assert.equal(again.status, 304);
    });

    it("answers the union of several datasets", async () => {
      const one = await call<Available>(
        server.url,
        "GET",
        "/v2/connectome/available-neurons?datasets=witvliet_2020_1",
      );
      assert.equal(Object.keys(one.body.neurons).length, 187);
      assert.equal(Object.keys(one.body.neuron_classes).length, 76);
      const both = await call<Available>(
        server.url,
        "GET",
        "/v2/connectome/available-neurons?datasets=witvliet_2020_1,white_1986_whole",
      );
      const union = new Set([...Object.keys(one.body.neurons)]);
      const white = await call<Available>(
        server.url,
        "GET",
        "/v2/connectome/available-neurons?datasets=white_1986_whole",
      );
      for (const n of Object.keys(white.body.neurons)) union.add(n);
      assert.deepEqual(Object.keys(both.body.neurons).sort(), [...union].sort());
    });

    it("400 without datasets, 404 for an unknown one, naming it", async () => {
      const missing = await call(server.url, "GET", "/v2/connectome/available-neurons");
      assert.equal(missing.status, 400);
      assert.match(detail(missing.body), /datasets parameter not found/);
      const unknown = await call(
        server.url,
        "GET",
        "/v2/connectome/available-neurons?datasets=white_1986_whole,nope",
      );
      assert.equal(unknown.status, 404);
      assert.match(detail(unknown.body), /Unknown connectome dataset nope/);
    });
  });

  describe("get-edges", () => {
    it("edges among two neurons: chemical directed, gap junctions once per pair", async () => {
      const res = await edges({
        datasets: ["white_1986_whole"],
        neurons: ["AVAL", "AVAR"],
        classes: [],
        show_individual_neuron: false,
        show_connected_neuron: false,
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, {
        datasets: ["white_1986_whole"],
        neurons: ["AVAL", "AVAR"],
        synapses: [
          { pre: "AVAL", post: "AVAR", type: "c", count: 2, list_count: [2] },
          { pre: "AVAL", post: "AVAR", type: "e", count: 5, list_count: [5] },
          { pre: "AVAR", post: "AVAL", type: "c", count: 1, list_count: [1] },
        ],
      });
    });

    it("a neuron and a class across two datasets, with list_count per dataset", async () => {
      const res = await edges({
        datasets: ["white_1986_whole", "witvliet_2020_8"],
        neurons: ["AVAL"],
        classes: ["AVB"],
        show_individual_neuron: false,
        show_connected_neuron: false,
      });
      assert.deepEqual(res.body, {
        datasets: ["white_1986_whole", "witvliet_2020_8"],
        neurons: ["AVAL", "AVB"],
        synapses: [
          { pre: "AVAL", post: "AVB", type: "c", count: 1, list_count: [1, 0] },
          { pre: "AVB", post: "AVAL", type: "c", count: 13, list_count: [13, 0] },
          { pre: "AVB", post: "AVB", type: "c", count: 2, list_count: [2, 0] },
          { pre: "AVB", post: "AVB", type: "e", count: 3, list_count: [3, 0] },
        ],
      });
    });

    it("connected partners: other classes by class, the input's own class split", async () => {
      const res = await edges({
        datasets: ["white_1986_whole"],
        neurons: ["ASHL"],
        classes: [],
        show_individual_neuron: false,
        show_connected_neuron: true,
      });
      assert.equal(res.body.synapses.length, 21);
      assert.deepEqual(res.body.neurons.slice(0, 12), [
        "ADA",
        "ADF",
        "ADL",
        "AIA",
        "AIB",
        "AIZ",
        "ASHL",
        "ASHR",
        "ASK",
        "AVA",
        "AVB",
        "AVD",
      ]);
      assert.deepEqual(res.body.synapses.slice(0, 3), [
        { pre: "ADA", post: "ASHL", type: "e", count: 1, list_count: [1] },
        { pre: "ADL", post: "ASHL", type: "c", count: 2, list_count: [2] },
        { pre: "AIA", post: "ASHL", type: "c", count: 1, list_count: [1] },
      ]);
    });

    it("two classes over the Witvliet series ends", async () => {
      const res = await edges({
        datasets: ["witvliet_2020_1", "witvliet_2020_8"],
        neurons: [],
        classes: ["AWC", "AIY"],
        show_individual_neuron: false,
        show_connected_neuron: true,
      });
      assert.equal(res.body.synapses.length, 50);
      assert.equal(
        res.body.synapses.reduce((a, s) => a + s.count, 0),
        457,
      );
      assert.deepEqual(res.body.synapses.slice(0, 2), [
        { pre: "ADF", post: "AIY", type: "c", count: 2, list_count: [1, 1] },
        { pre: "ADL", post: "AWC", type: "c", count: 16, list_count: [3, 13] },
      ]);
    });

    it("bad input is 4xx with a message, for every way it can be bad", async () => {
      const base = {
        datasets: ["white_1986_whole"],
        neurons: ["AVAL"],
        classes: [],
        show_individual_neuron: false,
        show_connected_neuron: false,
      };
      const bad = await call(server.url, "POST", "/v2/connectome/get-edges", {
        body: "{not json",
        headers: { "content-type": "text/plain" },
      });
      assert.equal(bad.status, 400);
      assert.match(detail(bad.body), /not valid JSON/);
      const cases: [unknown, number, RegExp][] = [
        [{ ...base, show_connected_neuron: undefined }, 400, /show_connected_neuron/],
        [{ ...base, neurons: "AVAL" }, 400, /neurons/],
        [{ ...base, neurons: [""] }, 400, /non-empty strings/],
        [{ ...base, neurons: [], classes: [] }, 400, /At least one neuron or class/],
        [{ ...base, datasets: [] }, 400, /At least one dataset/],
        [{ ...base, neurons: ["NOPE"] }, 400, /Unknown neuron NOPE/],
        [{ ...base, classes: ["NOPECLASS"] }, 400, /Unknown neuron class NOPECLASS/],
        [{ ...base, datasets: ["nope"] }, 404, /Unknown connectome dataset nope/],
        [[1, 2], 400, /JSON object/],
      ];
      for (const [body, status, message] of cases) {
        const res = await edges(body);
        assert.equal(res.status, status, JSON.stringify(body));
        assert.match(detail(res.body), message);
      }
      const get = await call(server.url, "GET", "/v2/connectome/get-edges");
      assert.equal(get.status, 405);
    });
  });

  describe("who may read", () => {
    let tokens: Record<Persona, string | undefined>;
    before(async () => {
      tokens = await personaTokens();
    });
    after(async () => {
      // Leave the database as the other suites expect it.
      await ingestFixture();
    });

    const publicOk = {
      anonymous: 200,
      unknown: 200,
      reader: 200,
      writer: 200,
      datasetAdmin: 200,
      admin: 200,
      disabled: 403,
    };
    const privateOk = { ...publicOk, anonymous: 401, unknown: 403 };

    for (const [dataset, expected] of [
      ["white_1986_whole", publicOk],
      [PRIVATE_DS, privateOk],
    ] as const) {
      it(`find-paths, available-neurons and get-edges on ${dataset}`, async function () {
        this.timeout(120_000);
        const requests = [
          {
            method: "GET",
            path: findPathsUrl({ dataset, start: "ASHL", end: "AVAL", weighted: true }),
          },
          { method: "GET", path: `/v2/connectome/available-neurons?datasets=${dataset}` },
          {
            method: "POST",
            path: "/v2/connectome/get-edges",
            body: {
              datasets: [dataset],
              neurons: ["AVAL"],
              classes: [],
              show_individual_neuron: false,
              show_connected_neuron: false,
            },
          },
        ];
        for (const request of requests)
          await checkMatrix(server, tokens, request, expected, async () => {
            await seedPrivateConnectome();
            server.deps.get(connectomeStore).invalidate();
          });
      });
    }
  });
});
