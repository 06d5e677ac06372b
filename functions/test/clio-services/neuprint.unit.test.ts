/**
 * Where the neuPrint proxy sends a query in production: the dataset's own server over https.
 * Only the service shows this (the routes' suite points every server at a loopback stand-in
 * through NEUPRINT_BASE_URL), so it is checked here with a recording fetch.
 */
import assert from "node:assert/strict";
import { createNeuprintService } from "../../src/services/neuprint.js";

describe("neuPrint proxy target", () => {
  it("uses https://{server}/api/custom/custom by default", async () => {
    const urls: string[] = [];
    const recordingFetch: typeof fetch = (input) => {
      urls.push(input instanceof Request ? input.url : input.toString());
      return Promise.resolve(new Response(JSON.stringify({ columns: [], data: [] }), { status: 200 }));
    };
    const service = createNeuprintService({
      token: "secret-neuprint-token",
      getDataset: () =>
        Promise.resolve({ neuprintHTTP: { server: "neuprint.janelia.org", dataset: "hemibrain" } }),
      baseUrl: "",
      fetch: recordingFetch,
    });
    const admin = {
      email: "admin@example.org",
      name: null,
      org: null,
      disabled: false,
      global_roles: ["admin"],
      datasets: {},
      groups: [],
    };
    await service.query(admin, "hemibrain", {
      cypher: "MATCH (n:hemibrain_Neuron) RETURN n",
      dataset: "hemibrain:v1.2.1",
    });
    assert.deepEqual(urls, ["https://neuprint.janelia.org/api/custom/custom"]);
  });
});
