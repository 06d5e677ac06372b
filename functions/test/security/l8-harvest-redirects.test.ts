/**
 * Review L8: a harvest upstream answering `302 Location: http://<internal host>/…` must not make
 * the harvester fetch that host. The upstream is the loopback serving recorded NeuroMorpho pages;
 * only its first listing request is answered with the attacker's redirect (fault injection).
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startUpstreamServer, type UpstreamServer } from "../../loopback/upstream.js";
import { runHarvest } from "../../src/services/harvest.js";
import type { FetchLike } from "../../src/sources/http.js";
import { firestore } from "../../src/store/firebase.js";
import { fastOptions, quietLog, recordsOf } from "../harvest/helpers.js";
import { clearFirestore } from "../setup/hooks.js";

describe("L8: the harvest client follows redirects only to its own hosts", () => {
  let upstream: UpstreamServer;
  let internal: http.Server;
  let internalUrl: string;
  let internalHits: number;

  beforeEach(async () => {
    await clearFirestore();
    upstream = await startUpstreamServer();
    internalHits = 0;
    internal = http.createServer((_req, res) => {
      internalHits += 1;
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    await new Promise<void>((resolve) => internal.listen(0, "127.0.0.1", resolve));
    internalUrl = `http://127.0.0.1:${(internal.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await upstream.close();
    await new Promise((r) => internal.close(r));
  });

  /**
   * Real fetch, except that listing requests answer `302 Location: target` (what a hijacked
   * upstream does). Like fetch itself, it follows the redirect unless told `redirect: "manual"`.
   */
  const redirecting =
    (target: () => string): FetchLike =>
    (url, init) => {
      if (!url.includes("/api/neuron/select")) return fetch(url, init);
      if (init?.redirect === "manual")
        return Promise.resolve(new Response(null, { status: 302, headers: { location: target() } }));
      return fetch(target(), init);
    };

  it("refuses a redirect to another host: nothing is fetched there and the run does not complete", async () => {
    const run = await runHarvest(
      { db: firestore(), log: quietLog, fetch: redirecting(() => `${internalUrl}/computeMetadata/v1/`) },
      "neuromorpho",
      fastOptions(upstream.url, { pageSize: 5 }),
    );
    assert.equal(internalHits, 0, "the internal host was never asked");
    assert.notEqual(run.status, "complete");
    assert.match(JSON.stringify(run.errors), /redirected to 127\.0\.0\.1:\d+, which is not allowed/);
    assert.equal((await recordsOf(firestore(), "neuromorpho")).length, 0);
  });

  it("still follows a redirect within its own host", async () => {
    let redirected = false;
    const once: FetchLike = (url, init) => {
      if (!redirected && init?.redirect === "manual" && url.includes("/api/neuron/select")) {
        redirected = true;
        return Promise.resolve(new Response(null, { status: 302, headers: { location: url } }));
      }
      return fetch(url, init);
    };
    const run = await runHarvest(
      { db: firestore(), log: quietLog, fetch: once },
      "neuromorpho",
      fastOptions(upstream.url, { pageSize: 5 }),
    );
    assert.ok(redirected);
    assert.equal(run.status, "complete");
    assert.equal((await recordsOf(firestore(), "neuromorpho")).length, 35);
  });
});
