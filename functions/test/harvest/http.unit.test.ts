import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";

import { parseRetryAfter, PoliteClient, UpstreamError, type FetchLike } from "../../src/sources/http.js";

function weakKeyError(): Error {
  const cause = Object.assign(new Error("dh key too small"), { code: "ERR_SSL_DH_KEY_TOO_SMALL" });
  return new TypeError("fetch failed", { cause });
}

const fast = { minIntervalMs: 0, backoffBaseMs: 1, backoffMaxMs: 2, maxAttempts: 3 };

describe("harvest HTTP client", () => {
  it("falls back to SECLEVEL=1 TLS only for hosts that opt in, and keeps using it there", async () => {
    const calls: string[] = [];
    const failing: FetchLike = (url) => {
      calls.push(`default ${url}`);
      return Promise.reject(weakKeyError());
    };
    const fallback: FetchLike = (url) => {
      calls.push(`fallback ${url}`);
      return Promise.resolve(new Response('{"ok":true}', { status: 200 }));
    };
    const client = new PoliteClient({
      fetch: failing,
      tlsFallbackFetch: fallback,
      defaultPolicy: fast,
      hosts: { "neuromorpho.org": { tlsFallback: true } },
    });
    assert.deepEqual(await client.getJson("https://neuromorpho.org/api/a"), { ok: true });
    assert.deepEqual(await client.getJson("https://neuromorpho.org/api/b"), { ok: true });
    assert.deepEqual(calls, [
      "default https://neuromorpho.org/api/a",
      "fallback https://neuromorpho.org/api/a",
      "fallback https://neuromorpho.org/api/b",
    ]);
    calls.length = 0;
    await assert.rejects(client.getJson("https://modeldb.science/api/v1/models"), UpstreamError);
    assert.ok(
      calls.every((c) => c.startsWith("default")),
      "other hosts never weaken TLS",
    );
  });

  it("does not retry a 404 but retries a 503", async () => {
    let n = 0;
    const client = new PoliteClient({
      defaultPolicy: fast,
      fetch: () => {
        n++;
        return Promise.resolve(new Response("nope", { status: n === 1 ? 404 : 503 }));
      },
    });
    await assert.rejects(
      client.getJson("https://x.test/a"),
      (e: unknown) => e instanceof UpstreamError && e.status === 404,
    );
    assert.equal(n, 1);
    await assert.rejects(
      client.getJson("https://x.test/b"),
      (e: unknown) => e instanceof UpstreamError && e.status === 503,
    );
    assert.equal(n, 4, "three attempts for the 503");
  });

  it("gives up at once when Retry-After exceeds what the policy tolerates", async () => {
    let n = 0;
    const client = new PoliteClient({
      defaultPolicy: { ...fast, maxRetryAfterMs: 1000 },
      fetch: () => {
        n++;
        return Promise.resolve(new Response("", { status: 429, headers: { "retry-after": "3600" } }));
      },
    });
    await assert.rejects(client.getJson("https://x.test/a"), /retry after 3600000 ms/);
    assert.equal(n, 1);
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    assert.equal(parseRetryAfter("7", now), 7000);
    assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now), 30_000);
    assert.equal(parseRetryAfter("soon", now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });

  it("follows redirects by hand only to allowed hosts when told to", async () => {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(`${req.headers.host}${req.url}`);
      const port = (server.address() as AddressInfo).port;
      if (req.url === "/home") res.writeHead(302, { location: "/file" }).end();
      else if (req.url === "/away") res.writeHead(302, { location: `http://localhost:${port}/file` }).end();
      else res.writeHead(200, { "content-type": "text/plain" }).end("bytes");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const origin = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const client = new PoliteClient({
        defaultPolicy: { minIntervalMs: 0, maxAttempts: 1 },
        redirectAllowed: (url) => url.host === origin,
      });
      assert.equal(await client.get(`http://${origin}/home`, (r) => r.text()), "bytes");
      await assert.rejects(
        client.get(`http://${origin}/away`, (r) => r.text()),
        (err: unknown) => {
          assert.ok(err instanceof UpstreamError);
          assert.match(err.message, /redirected to localhost:\d+, which is not allowed/);
          return true;
        },
      );
      assert.ok(!seen.some((s) => s.startsWith("localhost")), "the foreign host was never requested");
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
