/**
 * Security review L1: signatures are read under the lower-cased dataset name, so a role on a
 * public `Demo` must not serve the signatures of the private `demo`.
 */
import assert from "node:assert/strict";
import { firestore } from "../../src/store/firebase.js";
import { call, personaTokens, seedPersonas, type Persona, type TestServer } from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";
import {
  seedSignatureDatasets,
  SIG_DS,
  serveSignatures,
  startSignatureStack,
  type SignatureStack,
} from "../clio-services/stack.js";

const QUERY = "x=96&y=96&z=96";
const CASED = "Demo";

describe("security L1: signature dataset case", () => {
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
    // A public dataset whose id differs only in case from the private signature dataset.
    await firestore()
      .collection("clio_datasets")
      .doc(CASED)
      .set({ description: "public twin", public: true });
    server.deps.users.invalidate();
    server.deps.datasets.invalidate();
    stack.bigquery.requests.length = 0;
  });

  const get = (path: string, persona: Persona) =>
    call<{ detail: string }>(server.url, "GET", path, { token: tokens[persona] });

  it("the review's attack: public-level access to `Demo` does not serve `demo`'s signatures", async () => {
    for (const kind of ["atlocation", "likelocation"]) {
      const res = await get(`/v2/signatures/${kind}/${CASED}?${QUERY}`, "unknown");
      assert.equal(res.status, 403, kind);
      assert.match(res.body.detail, new RegExp(`on dataset ${SIG_DS}\\b`));
    }
    assert.equal(stack.bigquery.requests.length, 0);
  });

  it("a caller allowed on both names is served", async () => {
    const res = await get(`/v2/signatures/atlocation/${CASED}?${QUERY}`, "reader");
    assert.equal(res.status, 200);
  });
});
