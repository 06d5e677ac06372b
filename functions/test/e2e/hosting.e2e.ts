/**
 * End to end: the built functions, served by the Functions emulator behind the Hosting
 * emulator's rewrites, called over HTTP exactly as a browser or curl would.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { getAuth } from "firebase-admin/auth";
import { Timestamp } from "firebase-admin/firestore";
import { recordsCollection } from "../../src/services/json-annotations/layout.js";
import { adminApp, firestore } from "../../src/store/firebase.js";
import { apiToken, call, PRIVATE_DS, PUBLIC_DS, seedPersonas } from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";

const HOSTING = "http://127.0.0.1:5000";
const FUNCTIONS = "http://127.0.0.1:5001/demo-neurofire/us-central1";

function localSecret(): string {
  const file = readFileSync(path.join(import.meta.dirname, "..", "..", ".secret.local"), "utf8");
  return /FLYEM_SECRET=(.*)/.exec(file)![1]!.trim();
}

describe("end to end through the Hosting and Functions emulators", function () {
  this.timeout(60_000);
  let admin: string;

  before(async () => {
    assert.ok(
      process.env.FIREBASE_AUTH_EMULATOR_HOST,
      "run under firebase emulators:exec (npm run test:e2e)",
    );
    await clearFirestore();
    await seedPersonas();
    admin = await apiToken("admin@example.org", { secret: localSecret() });
  });

  it("serves the datasets under clio's paths, and each function under its own URL", async () => {
    const viaHosting = await call<Record<string, unknown>>(HOSTING, "GET", "/v2/datasets", { token: admin });
    assert.equal(viaHosting.status, 200);
    assert.deepEqual(Object.keys(viaHosting.body).sort(), [PRIVATE_DS, PUBLIC_DS]);
    const viaFunction = await call<Record<string, unknown>>(FUNCTIONS, "GET", "/datasets/v2/datasets/", {
      token: admin,
    });
    assert.equal(viaFunction.status, 200);
    assert.deepEqual(viaFunction.body, viaHosting.body);
    const one = await call<{ tag: string }>(HOSTING, "GET", `/v2/datasets/${PRIVATE_DS}`, { token: admin });
    assert.equal(one.body.tag, "v1.2");
  });

  it("serves the clio annotation family under its paths", async () => {
    const writer = await apiToken("writer@example.org", { secret: localSecret() });
    const posted = await call<{ key: string }>(HOSTING, "POST", `/v2/annotations/${PRIVATE_DS}`, {
      token: writer,
      body: { kind: "point", pos: [10, 20, 30], title: "e2e" },
    });
    assert.equal(posted.status, 200);
    assert.equal(posted.body.key, "Pt10_20_30");
    const listed = await call<{ key: string }[]>(HOSTING, "GET", `/v2/annotations/${PRIVATE_DS}`, {
      token: writer,
    });
    assert.deepEqual(
      listed.body.map((a) => a.key),
      ["Pt10_20_30"],
    );
    const kv = await call(HOSTING, "POST", "/v2/kv/e2e-scope/k1", { token: writer, body: { a: 1 } });
    assert.equal(kv.status, 200);
    assert.deepEqual((await call(HOSTING, "GET", "/v2/kv/e2e-scope/k1", { token: writer })).body, { a: 1 });
  });

  it("serves the files, signatures and catalog groups under their paths", async () => {
    const search = await call<{ total: number; facets: object }>(
      HOSTING,
      "GET",
      "/v2/catalog/search?q=pyramidal",
      {
        token: admin,
      },
    );
    assert.equal(search.status, 200);
    assert.equal(typeof search.body.total, "number");
    // The seeded persona datasets keep no files; the files function says so rather than "no route".
    const files = await call<{ code: string; detail: string }>(HOSTING, "GET", `/v2/files/${PRIVATE_DS}`, {
      token: admin,
    });
    assert.equal(files.status, 404);
    assert.match(files.body.detail, /files/);
    assert.doesNotMatch(files.body.detail, /No route/);
    // The signatures of the seeded `demo` volume, read from the loopback bucket npm start also uses.
    const sig = await call<{ point: number[]; signature: string }>(
      HOSTING,
      "GET",
      "/v2/signatures/atlocation/demo?x=1&y=2&z=3",
      { token: admin },
    );
    assert.equal(sig.status, 200, JSON.stringify(sig.body));
    assert.equal(sig.body.point.length, 3);
    assert.match(String(sig.body.signature), /^\d+$/);
  });

  it("refuses missing and forged tokens", async () => {
    assert.equal((await call(HOSTING, "GET", "/v2/roles")).status, 401);
    const forged = await apiToken("admin@example.org", { secret: "not-the-deployment-secret-0123456789" });
    assert.equal((await call(HOSTING, "GET", "/v2/roles", { token: forged })).status, 401);
  });

  it("exchanges a Firebase Auth ID token for an API token that then works everywhere", async () => {
    const auth = getAuth(adminApp());
    await auth.createUser({
      email: "Reader@Example.org",
      password: "correct horse battery",
      emailVerified: true,
    });
    const signIn = await fetch(
      `http://${process.env.FIREBASE_AUTH_EMULATOR_HOST}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=local`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          email: "reader@example.org",
          password: "correct horse battery",
          returnSecureToken: true,
        }),
      },
    );
    const { idToken } = (await signIn.json()) as { idToken: string };
    const roles = await call<{ email: string; datasets: Record<string, string[]> }>(
      HOSTING,
      "GET",
      "/v2/roles",
      {
        token: idToken,
      },
    );
    assert.equal(roles.status, 200);
    assert.equal(roles.body.email, "reader@example.org");
    assert.deepEqual(roles.body.datasets, { [PRIVATE_DS]: ["clio_general"] });

    const exchanged = await call<string>(HOSTING, "POST", "/v2/server/token", { token: idToken });
    assert.equal(exchanged.status, 200);
    assert.equal(typeof exchanged.body, "string");
    const payload = JSON.parse(Buffer.from(exchanged.body.split(".")[1]!, "base64url").toString()) as Record<
      string,
      unknown
    >;
    assert.equal(payload.email, "reader@example.org");
    assert.equal(payload.iss, "flyem-clio-store");
    const again = await call<{ email: string }>(HOSTING, "GET", "/v2/roles", { token: exchanged.body });
    assert.equal(again.body.email, "reader@example.org");
  });

  it("answers CORS preflight through Hosting", async () => {
    const res = await fetch(`${HOSTING}/v2/datasets`, {
      method: "OPTIONS",
      headers: { origin: "https://clio.example.org", "access-control-request-method": "PUT" },
    });
    assert.equal(res.status, 204);
    assert.match(res.headers.get("access-control-allow-methods") ?? "", /PUT/);
  });

  it("serves the OpenAPI document and a docs page that needs no internet", async () => {
    const spec = await call<{ openapi: string; paths: Record<string, unknown> }>(
      HOSTING,
      "GET",
      "/v2/openapi.json",
    );
    assert.equal(spec.status, 200);
    assert.ok(spec.body.paths["/v2/datasets/{dataset}"]);
    const page = await fetch(`${HOSTING}/v2/docs`);
    const html = await page.text();
    assert.match(html, /swagger-ui-bundle\.js/);
    assert.doesNotMatch(html, /https?:\/\//, "the page must load nothing from the internet");
    const asset = await fetch(`${HOSTING}/v2/docs/assets/swagger-ui-bundle.js`);
    assert.equal(asset.status, 200);
  });

  it("serves body annotations through Hosting to clients that send no Content-Type and app=", async () => {
    const writer = await apiToken("writer@example.org", { secret: localSecret() });
    const neurons = `${HOSTING}/v2/json-annotations/${PRIVATE_DS}/neurons`;
    const send = async (method: string, url: string, body?: string) => {
      // A Uint8Array body makes fetch send no Content-Type, as malevnc and clio-py's data=str do.
      const res = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${writer}` },
        body: body === undefined ? undefined : new TextEncoder().encode(body),
      });
      return { status: res.status, text: await res.text() };
    };
    const big = "18446744073709551615";
    const written = await send(
      "POST",
      `${neurons}?version=v1.2&conditional=user&app=natverse`,
      `[{"bodyid":${big},"type":"LC4"},{"bodyid":7,"type":"MBON01","status":null}]`,
    );
    assert.deepEqual(written, { status: 200, text: "null" });
    const queried = await send("POST", `${neurons}/query?show=none&app=natverse`, '{"type":"re/^LC"}');
    assert.deepEqual(queried, { status: 200, text: `[{"bodyid":${big},"type":"LC4"}]` });
    const all = await send("GET", `${neurons}/all/?app=natverse`);
    assert.equal(all.text, `[{"bodyid":7,"type":"MBON01","status":null},{"bodyid":${big},"type":"LC4"}]`);
    const viaFunction = await send(
      "GET",
      `${FUNCTIONS}/jsonannotations/v2/json-annotations/${PRIVATE_DS}/neurons/head_tag`,
    );
    assert.deepEqual(viaFunction, { status: 200, text: '"v1.2"' });
    // Every other group reads a typeless body as JSON too (the runtime leaves it raw).
    const stored = await send("POST", `${HOSTING}/v2/kv/e2e/typeless?app=natverse`, '{"a":1}');
    assert.deepEqual(stored, { status: 200, text: "null" });
    const read = await send("GET", `${HOSTING}/v2/kv/e2e/typeless`);
    assert.deepEqual(JSON.parse(read.text), { a: 1 });
  });

  it("streams /all?show=all of a large body-annotation dataset through Hosting (C.7 check 4)", async function () {
    this.timeout(240_000);
    // 20,000 records as clio stored them (legacy HEAD documents), each with a dozen stamped fields.
    const n = 20_000;
    const first = 10_000_000_000n;
    const writer = firestore().bulkWriter();
    const t = Timestamp.fromMillis(Date.parse("2024-01-01T00:00:00Z"));
    for (let i = 0; i < n; i++) {
      const bodyid = (first + BigInt(i) * 3n).toString();
      const fields: Record<string, unknown> = {
        type: `T${i % 97}`,
        instance: `T${i % 97}_${i % 2 ? "L" : "R"}`,
        status: i % 3 ? "Traced" : "Anchor",
        position: [i % 40_000, (i * 7) % 40_000, (i * 13) % 60_000],
      };
      for (const f of Object.keys(fields)) {
        fields[`${f}_user`] = "importer@example.org";
        fields[`${f}_time`] = "2024-01-01T00:00:00Z";
      }
      void writer.set(recordsCollection(firestore(), PUBLIC_DS).doc(`id${bodyid}`), {
        ...fields,
        bodyid: Number(bodyid),
        _head: true,
        _version: 1_000_000,
        _timestamp: t.seconds,
        _user: "importer@example.org",
      });
    }
    await writer.close();
    const reader = await apiToken("reader@example.org", { secret: localSecret() });
    const res = await fetch(`${HOSTING}/v2/json-annotations/${PUBLIC_DS}/neurons/all?show=all&app=natverse`, {
      headers: { authorization: `Bearer ${reader}` },
    });
    assert.equal(res.status, 200);
    // Streamed, not buffered: no Content-Length, so the non-streamed response cap does not apply.
    assert.equal(res.headers.get("content-length"), null);
    const text = await res.text();
    const records = JSON.parse(text) as Record<string, unknown>[];
    assert.equal(records.length, n);
    assert.ok(text.length > 8_000_000, `expected a large answer, got ${text.length} bytes`);
    assert.match(text, /^\[\{"bodyid":10000000000,/);
    assert.deepEqual(records[n - 1], {
      bodyid: Number(first + BigInt(n - 1) * 3n),
      type: `T${(n - 1) % 97}`,
      type_user: "importer@example.org",
      type_time: "2024-01-01T00:00:00Z",
      instance: `T${(n - 1) % 97}_L`,
      instance_user: "importer@example.org",
      instance_time: "2024-01-01T00:00:00Z",
      status: (n - 1) % 3 ? "Traced" : "Anchor",
      status_user: "importer@example.org",
      status_time: "2024-01-01T00:00:00Z",
      position: [(n - 1) % 40_000, ((n - 1) * 7) % 40_000, ((n - 1) * 13) % 60_000],
      position_user: "importer@example.org",
      position_time: "2024-01-01T00:00:00Z",
    });
    const ids = records.map((r) => r.bodyid as number);
    assert.ok(
      ids.every((id, i) => i === 0 || id > ids[i - 1]!),
      "sorted by body id",
    );
  });
});
