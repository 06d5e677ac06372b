/** Scoped, expiring, revocable API keys and viewer tokens (issue 12). */
import assert from "node:assert/strict";
import { apiGroups } from "../../src/api/groups.js";
import { hashSecret } from "../../src/auth/keys.js";
import { API_KEYS } from "../../src/store/keys.js";
import { firestore } from "../../src/store/firebase.js";
import {
  apiToken,
  call,
  PERSONAS,
  PRIVATE_DS,
  PUBLIC_DS,
  resetToSeed,
  serve,
  type TestServer,
} from "../helpers/server.js";
import { clock, instance, mint, snapshotAll, type Instance } from "./helpers.js";

const YEAR = 400 * 86_400;

describe("API keys", () => {
  let api: TestServer;
  let reader: string;
  let admin: string;

  before(async () => {
    api = await serve(apiGroups);
    reader = await apiToken(PERSONAS.reader);
    admin = await apiToken(PERSONAS.admin);
  });
  after(() => api.close());
  beforeEach(() => resetToSeed(api));

  it("mints a read-only one-dataset key that is stored only as a hash and sees only that dataset", async () => {
    const minted = await mint(api.url, reader, { name: "ci", datasets: [PRIVATE_DS] });
    assert.match(minted.key, /^nfk_[0-9a-f]{24}_/);
    assert.equal(minted.role, "clio_read");
    const days = (Date.parse(minted.expires) - Date.now()) / 86_400_000;
    assert.ok(days > 89.9 && days <= 90, `default expiry ${days} days`);

    const stored = (await firestore().collection(API_KEYS).doc(minted.id).get()).data()!;
    assert.ok(!JSON.stringify(stored).includes(minted.key.split("_").pop()!), "the secret is not stored");
    assert.equal(stored.hash, hashSecret(minted.key.split("_").slice(2).join("_")));

    const roles = await call<{ datasets: object; global_roles: string[] }>(api.url, "GET", "/v2/roles", {
      token: minted.key,
    });
    assert.equal(roles.status, 200);
    assert.deepEqual(roles.body.datasets, { [PRIVATE_DS]: ["clio_read"] });
    assert.deepEqual(roles.body.global_roles, []);
    const list = await call<Record<string, unknown>>(api.url, "GET", "/v2/datasets", { token: minted.key });
    assert.deepEqual(
      Object.keys(list.body),
      [PRIVATE_DS],
      "a public dataset outside the scope is not listed",
    );
  });

  it("lists the caller's keys with their last use, and never the secret", async () => {
    const a = await mint(api.url, reader, { name: "a", datasets: [PRIVATE_DS] });
    await mint(api.url, reader, { name: "b", datasets: [PUBLIC_DS], role: "clio_general" });
    await mint(api.url, admin, { name: "admin's", datasets: [PUBLIC_DS] });
    await call(api.url, "GET", "/v2/roles", { token: a.key });
    const res = await call<{ id: string; name: string; lastUsed: string | null }[]>(
      api.url,
      "GET",
      "/v2/keys",
      {
        token: reader,
      },
    );
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.map((k) => k.name).sort(), ["a", "b"]);
    assert.ok(res.body.find((k) => k.name === "a")!.lastUsed, "last use recorded");
    assert.equal(res.body.find((k) => k.name === "b")!.lastUsed, null);
    assert.ok(!res.text.includes(a.key.split("_").pop()!));
  });

  it("refuses keys above the caller's own role, out of range expiry, and minting with a key", async () => {
    const before = await snapshotAll();
    const cases: [string | undefined, Record<string, unknown>, number, RegExp][] = [
      [reader, { name: "x", datasets: [PRIVATE_DS], role: "clio_write" }, 403, /above their own role/],
      [reader, { name: "x", datasets: [PRIVATE_DS, "other-ds"] }, 403, /other-ds/],
      [await apiToken(PERSONAS.unknown), { name: "x", datasets: [PRIVATE_DS] }, 403, /private-ds/],
      [reader, { name: "x", datasets: [PRIVATE_DS], expiresInDays: 366 }, 400, /expiresInDays/],
      [reader, { name: "x", datasets: [] }, 400, /datasets/],
      [reader, { name: "x", datasets: [PRIVATE_DS], role: "owner" }, 400, /role/],
      [undefined, { name: "x", datasets: [PRIVATE_DS] }, 401, /credentials/],
    ];
    for (const [token, body, status, message] of cases) {
      const res = await call<{ detail: string }>(api.url, "POST", "/v2/keys", { token, body });
      assert.equal(res.status, status, `${JSON.stringify(body)}: ${res.text}`);
      assert.match(res.body.detail, message);
    }
    assert.deepEqual(await snapshotAll(), before, "nothing written");

    const key = await mint(api.url, admin, { name: "k", datasets: [PRIVATE_DS], role: "dataset_admin" });
    const res = await call(api.url, "POST", "/v2/keys", {
      token: key.key,
      body: { name: "y", datasets: [PRIVATE_DS] },
    });
    assert.equal(res.status, 403, "a key cannot mint keys");
    const exchange = await call(api.url, "POST", "/v2/server/token", { token: key.key });
    assert.equal(exchange.status, 403, "a key cannot be exchanged for an unscoped API token");
  });

  it("caps an admin's key at its role: a clio_write key cannot administer the dataset", async () => {
    const key = await mint(api.url, admin, { name: "w", datasets: [PRIVATE_DS], role: "clio_write" });
    const users = await call(api.url, "GET", "/v2/users", { token: key.key });
    assert.equal(users.status, 403, "no global admin through a key");
    const del = await call(api.url, "DELETE", "/v2/datasets", { token: key.key, body: [PRIVATE_DS] });
    assert.equal(del.status, 403);
    const kv = await call(api.url, "POST", "/v2/kv/s/k", { token: key.key, body: { a: 1 } });
    assert.equal(kv.status, 200, "a writing key writes the owner's own kv");
  });

  it("refuses unknown, tampered and malformed keys with 401", async () => {
    const key = await mint(api.url, reader, { name: "k", datasets: [PRIVATE_DS] });
    const last = key.key.at(-1) === "A" ? "B" : "A";
    for (const token of [
      `${key.key.slice(0, -1)}${last}`,
      `nfk_${"0".repeat(24)}_${"A".repeat(43)}`,
      key.key.replace(/^nfk_/, "nfv_"),
      `${key.key}x`,
    ]) {
      const res = await call(api.url, "GET", "/v2/roles", { token });
      assert.equal(res.status, 401, token);
    }
  });
});

describe("API key expiry and revocation across instances", () => {
  const at = clock();
  let a: Instance;
  let b: Instance;
  let reader: string;

  before(async () => {
    a = await instance(apiGroups, {}, at);
    b = await instance(apiGroups, {}, at);
    reader = await apiToken(PERSONAS.reader, { expiresIn: YEAR });
  });
  after(async () => {
    await a.close();
    await b.close();
  });
  beforeEach(async () => {
    at.ms = Date.now();
    await resetToSeed();
  });

  it("stops working when it expires", async () => {
    const key = await mint(a.url, reader, { name: "k", datasets: [PRIVATE_DS], expiresInDays: 1 });
    assert.equal((await call(a.url, "GET", "/v2/roles", { token: key.key })).status, 200);
    at.advance(86_400 - 5);
    assert.equal((await call(a.url, "GET", "/v2/roles", { token: key.key })).status, 200);
    at.advance(10);
    const res = await call<{ detail: string }>(a.url, "GET", "/v2/roles", { token: key.key });
    assert.equal(res.status, 401);
    assert.match(res.body.detail, /expired/);
  });

  it("revoked on one instance, is refused by another within 60 s", async () => {
    const key = await mint(a.url, reader, { name: "k", datasets: [PRIVATE_DS] });
    assert.equal((await call(b.url, "GET", "/v2/roles", { token: key.key })).status, 200, "b caches it");
    const revoked = await call<{ revoked: string }>(a.url, "DELETE", `/v2/keys/${key.id}`, { token: reader });
    assert.equal(revoked.status, 200, revoked.text);
    assert.ok(revoked.body.revoked);
    assert.equal((await call(a.url, "GET", "/v2/roles", { token: key.key })).status, 401);
    at.advance(60);
    const res = await call<{ detail: string }>(b.url, "GET", "/v2/roles", { token: key.key });
    assert.equal(res.status, 401);
    assert.match(res.body.detail, /revoked/);
  });

  it("lets only the owner or an admin revoke a key; others see 404", async () => {
    const key = await mint(a.url, reader, { name: "k", datasets: [PRIVATE_DS] });
    const writer = await apiToken(PERSONAS.writer, { expiresIn: YEAR });
    const res = await call(a.url, "DELETE", `/v2/keys/${key.id}`, { token: writer });
    assert.equal(res.status, 404);
    const stored = (await firestore().collection(API_KEYS).doc(key.id).get()).data()!;
    assert.equal(stored.revoked, null, "nothing written");
    const admin = await apiToken(PERSONAS.admin, { expiresIn: YEAR });
    assert.equal((await call(a.url, "DELETE", `/v2/keys/${key.id}`, { token: admin })).status, 200);
    const bad = await call<{ detail: string }>(a.url, "DELETE", "/v2/keys/not-an-id", { token: admin });
    assert.equal(bad.status, 400);
    assert.match(bad.body.detail, /24 hex digits/);
  });
});
