/**
 * The harvest client's TLS paths against a real local HTTPS server (review §1, §5): a server whose
 * certificate chain misses its intermediate (as neuromorpho.org's has been reported to) fails to
 * verify, and is reached through the host's `extraCa` with verification still on; and the node:https
 * path streams bodies instead of buffering them. The certificates are made for this run only.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import https from "node:https";
import type { AddressInfo } from "node:net";

import forge from "node-forge";

import { nodeHttpsFetch, PoliteClient } from "../../src/sources/http.js";

interface Issued {
  certPem: string;
  keyPem: string;
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
}

/** A certificate signed by `issuer` (self-signed without one); `ca` marks a CA certificate. */
function issue(cn: string, serial: string, issuer?: Issued, ca = false): Issued {
  const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const keyPem = pair.privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const key = forge.pki.privateKeyFromPem(keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(
    pair.publicKey.export({ type: "spki", format: "pem" }).toString(),
  );
  cert.serialNumber = serial;
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: "commonName", value: cn }]);
  cert.setIssuer(issuer ? issuer.cert.subject.attributes : [{ name: "commonName", value: cn }]);
  cert.setExtensions(
    ca
      ? [
          { name: "basicConstraints", cA: true, critical: true },
          { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
        ]
      : [
          { name: "basicConstraints", cA: false },
          { name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }] },
        ],
  );
  cert.sign(issuer?.key ?? key, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem, cert, key };
}

describe("harvest HTTP client over TLS", function () {
  this.timeout(30_000);
  let root: Issued;
  let intermediate: Issued;
  let server: https.Server;
  let url: string;
  let release: () => void = () => undefined;

  before(async () => {
    root = issue("test root", "01", undefined, true);
    intermediate = issue("test intermediate", "02", root, true);
    const leaf = issue("127.0.0.1", "03", intermediate);
    // The server sends its own certificate only: the chain misses the intermediate.
    server = https.createServer({ key: leaf.keyPem, cert: leaf.certPem }, (req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      if (req.url === "/stream") {
        // The second half is sent only once the client has read the first: a client that buffers
        // the whole body before answering would wait forever.
        res.write("first half\n");
        release = () => res.end("second half\n");
      } else res.end('{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("a chain missing its intermediate fails verification unless the host lists it in extraCa", async () => {
    // Trusting the root alone, as a client with the public roots trusts the real one.
    const trustsRoot = nodeHttpsFetch({ extraCa: [root.certPem] });
    const plain = new PoliteClient({
      fetch: trustsRoot,
      defaultPolicy: { minIntervalMs: 0, maxAttempts: 1 },
    });
    await assert.rejects(plain.getJson(`${url}/a`), /unable to verify|UNABLE_TO_VERIFY/i);

    const withCa = new PoliteClient({
      fetch: trustsRoot,
      defaultPolicy: { minIntervalMs: 0, maxAttempts: 1 },
      hosts: { [new URL(url).host]: { extraCa: [root.certPem, intermediate.certPem] } },
    });
    assert.deepEqual(await withCa.getJson(`${url}/a`), { ok: true });
  });

  it("never accepts a certificate it cannot verify, extraCa or not", async () => {
    const stranger = issue("stranger root", "09", undefined, true);
    const client = new PoliteClient({
      fetch: nodeHttpsFetch({}),
      defaultPolicy: { minIntervalMs: 0, maxAttempts: 1 },
      hosts: { [new URL(url).host]: { extraCa: [stranger.certPem] } },
    });
    await assert.rejects(client.getJson(`${url}/a`));
  });

  it("the node:https path streams: the response arrives before the body ends", async () => {
    const fetchStreamed = nodeHttpsFetch({ extraCa: [root.certPem, intermediate.certPem] });
    const client = new PoliteClient({ fetch: fetchStreamed, defaultPolicy: { minIntervalMs: 0 } });
    const res = await client.open(`${url}/stream`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    assert.equal(new TextDecoder().decode(first.value), "first half\n");
    release();
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    assert.equal(rest, "second half\n");
  });
});
