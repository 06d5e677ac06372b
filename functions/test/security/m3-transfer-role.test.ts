/**
 * Security review M3 (the part in the transfer service): one POST /v2/transfer starts eight GPU
 * jobs under the deployment's identity, so on a public dataset "any Google account" must not be
 * enough: the role has to be held on the dataset itself.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { transferApi } from "../../src/api/transfer.js";
import {
  call,
  personaTokens,
  PUBLIC_DS,
  seedPersonas,
  serve,
  type Persona,
  type TestServer,
} from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";
import { seedServiceFields, TRANSFER_MODEL } from "../clio-services/stack.js";

describe("security M3: transfer needs an explicit role", () => {
  let upstream: Server;
  let hits = 0;
  let server: TestServer;
  let tokens: Record<Persona, string | undefined>;

  before(async () => {
    upstream = createServer((_req, res) => {
      hits += 1;
      res.writeHead(200).end();
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const { port } = upstream.address() as AddressInfo;
    server = await serve(transferApi, { transferFunc: `http://127.0.0.1:${port}/`, transferDest: "out" });
    tokens = await personaTokens();
  });
  after(async () => {
    await server.close();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });
  beforeEach(async () => {
    await clearFirestore();
    await seedPersonas();
    await seedServiceFields();
    server.deps.users.invalidate();
    server.deps.datasets.invalidate();
    hits = 0;
  });

  it("the review's attack: any signed-in account on a public dataset gets 403 and starts no job", async () => {
    const res = await call<{ detail: string }>(server.url, "POST", "/v2/transfer", {
      token: tokens.unknown,
      body: { dataset: PUBLIC_DS, model_name: TRANSFER_MODEL, center: [1000, 2000, 3000] },
    });
    assert.equal(res.status, 403);
    assert.match(res.body.detail, /explicit role/);
    assert.equal(hits, 0);
  });
});
