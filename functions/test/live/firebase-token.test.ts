/**
 * POST /v2/server/firebase-token: every credential kind becomes a custom token for the same email,
 * whose claims the rules read and with which a client-SDK session reads what the caller may.
 */
import assert from "node:assert/strict";
import { doc, getDoc } from "firebase/firestore";
import { decodeJwt } from "jose";
import { startGoogleCertsServer, type GoogleCertsServer } from "../../loopback/google-certs.js";
import { apiGroups } from "../../src/api/groups.js";
import { LIVE_SESSION_SECONDS, liveUid } from "../../src/services/live.js";
import { API_KEYS } from "../../src/store/keys.js";
import { firestore } from "../../src/store/firebase.js";
import { checkMatrix } from "../helpers/matrix.js";
import {
  apiToken,
  call,
  PERSONAS,
  personaTokens,
  PRIVATE_DS,
  PUBLIC_DS,
  resetToSeed,
  serve,
  type TestServer,
} from "../helpers/server.js";
import { mint, snapshotAll } from "../keys/helpers.js";
import { clientSession, decodeCustomToken, outcome, useEmulatorSigner } from "./fixture.js";

const PATH = "/v2/server/firebase-token";

interface Answer {
  token: string;
  uid: string;
  email: string;
  expiresAt: number;
}

describe("POST /v2/server/firebase-token", () => {
  useEmulatorSigner();
  let api: TestServer;
  let google: GoogleCertsServer;

  before(async () => {
    google = await startGoogleCertsServer();
    api = await serve(apiGroups, { googleCertsUrl: google.certsUrl });
  });
  after(async () => {
    await api.close();
    await google.close();
  });
  beforeEach(async () => {
    await resetToSeed(api);
    await firestore()
      .doc(`clio_annotations_global/neurons/${PRIVATE_DS}/id1`)
      .set({ bodyid: 1, _head: true });
  });

  async function exchange(credential: string | undefined, body?: unknown) {
    return call<Answer>(api.url, "POST", PATH, { token: credential, body });
  }

  /** Whether a client-SDK session signed in with `answer` may read a private-ds record. */
  async function readsPrivate(answer: Answer): Promise<string> {
    const session = clientSession(decodeCustomToken(answer.token));
    try {
      return await outcome(() =>
        getDoc(doc(session.db, `clio_annotations_global/neurons/${PRIVATE_DS}/id1`)),
      );
    } finally {
      await session.close();
    }
  }

  it("turns an API token into a custom token for the same email, for at most an hour", async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await exchange(await apiToken(PERSONAS.reader, { expiresIn: 30 * 24 * 3600 }));
    assert.equal(res.status, 200, res.text);
    const { uid, claims } = decodeCustomToken(res.body.token);
    assert.equal(uid, liveUid(PERSONAS.reader));
    assert.equal(res.body.uid, uid);
    assert.equal(res.body.email, PERSONAS.reader);
    assert.equal(claims.nf.email, PERSONAS.reader);
    assert.equal(claims.nf.kid, null);
    assert.equal(claims.nf.owner, false);
    assert.equal(res.body.expiresAt, claims.nf.exp);
    assert.ok(claims.nf.exp - claims.nf.iat === LIVE_SESSION_SECONDS, "capped at the session length");
    assert.ok(claims.nf.iat >= before);
    // The same person gets the same Firebase user whichever credential they use.
    const again = await exchange(await apiToken(PERSONAS.reader));
    assert.equal(again.body.uid, uid);
    assert.equal(await readsPrivate(res.body), "allowed");
  });

  it("never outlives the credential it came from", async () => {
    const res = await exchange(await apiToken(PERSONAS.reader, { expiresIn: 120 }));
    assert.equal(res.status, 200, res.text);
    const { claims } = decodeCustomToken(res.body.token);
    const credentialExp = decodeJwt(await apiToken(PERSONAS.reader, { expiresIn: 120 })).exp!;
    assert.ok(Math.abs(claims.nf.exp - credentialExp) <= 1, `${claims.nf.exp} vs ${credentialExp}`);
  });

  it("accepts a Google ID token", async () => {
    const idToken = await google.sign({ email: PERSONAS.writer });
    const res = await exchange(idToken);
    assert.equal(res.status, 200, res.text);
    const { uid, claims } = decodeCustomToken(res.body.token);
    assert.equal(uid, liveUid(PERSONAS.writer));
    assert.equal(claims.nf.email, PERSONAS.writer);
    assert.equal(claims.nf.kid, null);
    assert.equal(await readsPrivate(res.body), "allowed");
  });

  it("carries an API key's id, so the rules apply its scope and see its revocation", async () => {
    const admin = await apiToken(PERSONAS.admin);
    const key = await mint(api.url, admin, { name: "live", datasets: [PUBLIC_DS] });
    const res = await exchange(key.key);
    assert.equal(res.status, 200, res.text);
    const { claims } = decodeCustomToken(res.body.token);
    assert.equal(claims.nf.email, PERSONAS.admin);
    assert.equal(claims.nf.kid, key.id);
    // The admin's own session could read private-ds; the key's scope cannot.
    assert.equal(await readsPrivate(res.body), "denied");
  });

  it("accepts a viewer token, ending with it", async () => {
    const reader = await apiToken(PERSONAS.reader);
    const viewer = await mint(
      api.url,
      reader,
      { dataset: PRIVATE_DS, expiresInSeconds: 300 },
      "/v2/keys/viewer",
    );
    const res = await exchange(viewer.key);
    assert.equal(res.status, 200, res.text);
    const { claims } = decodeCustomToken(res.body.token);
    assert.equal(claims.nf.kid, viewer.id);
    assert.equal(claims.nf.exp, Math.floor(Date.parse(viewer.expires) / 1000));
    assert.equal(await readsPrivate(res.body), "allowed");
    assert.equal((await call(api.url, "DELETE", `/v2/keys/${viewer.id}`, { token: reader })).status, 200);
    assert.equal(await readsPrivate(res.body), "denied", "a revoked viewer token's session reads nothing");
  });

  it("marks the deployment's OWNER, who has no clio_users document", async () => {
    const res = await exchange(await apiToken("owner@example.org"));
    assert.equal(res.status, 200, res.text);
    assert.equal(decodeCustomToken(res.body.token).claims.nf.owner, true);
    assert.equal(await readsPrivate(res.body), "allowed");
  });

  it("permission matrix: anyone signed in and enabled", async () => {
    await checkMatrix(
      api,
      await personaTokens(),
      { method: "POST", path: PATH },
      {
        anonymous: 401,
        unknown: 200,
        reader: 200,
        writer: 200,
        datasetAdmin: 200,
        admin: 200,
        disabled: 403,
      },
    );
  });

  it("refuses bad input, naming the problem, and writes nothing", async () => {
    const reader = await apiToken(PERSONAS.reader);
    const before = await snapshotAll();
    const extra = await exchange(reader, { email: PERSONAS.admin });
    assert.equal(extra.status, 400);
    assert.match(extra.text, /email/);
    const notObject = await exchange(reader, [1]);
    assert.equal(notObject.status, 400);
    const expired = await exchange(await apiToken(PERSONAS.reader, { expiresIn: -10 }));
    assert.equal(expired.status, 401);
    const forged = await exchange(
      await apiToken(PERSONAS.reader, { secret: "not-the-server-secret-0123456789" }),
    );
    assert.equal(forged.status, 401);
    const garbage = await exchange("nfk_0123_notakey");
    assert.equal(garbage.status, 401);
    assert.deepEqual(await snapshotAll(), before);
  });

  it("refuses a revoked key and tokens revoked by /v2/server/revoke", async () => {
    const writer = await apiToken(PERSONAS.writer);
    const key = await mint(api.url, writer, { name: "gone", datasets: [PRIVATE_DS] });
    assert.equal((await call(api.url, "DELETE", `/v2/keys/${key.id}`, { token: writer })).status, 200);
    // Bookkeeping of the revocation itself (and of key use) aside, nothing is written.
    const skip = [API_KEYS, "neurofire_token_state", "neurofire_audit", "neurofire_audit_feeds"];
    const before = await snapshotAll(skip);
    const revokedKey = await exchange(key.key);
    assert.equal(revokedKey.status, 401);
    assert.match(revokedKey.text, /revoked/);
    assert.equal((await call(api.url, "POST", "/v2/server/revoke", { token: writer })).status, 200);
    api.deps.tokenState.forget();
    const revokedToken = await exchange(writer);
    assert.equal(revokedToken.status, 401);
    assert.match(revokedToken.text, /revoked/);
    assert.deepEqual(await snapshotAll(skip), before);
  });
});
