/**
 * Revocation reaches a listener already attached: once its key is revoked, its tokens are revoked
 * or its user is disabled, the next change it would receive is refused instead, and the client SDK
 * ends the listener with permission-denied.
 */
import assert from "node:assert/strict";
import { collection, onSnapshot } from "firebase/firestore";
import { apiGroups } from "../../src/api/groups.js";
import { firestore } from "../../src/store/firebase.js";
import {
  apiToken,
  call,
  PERSONAS,
  PRIVATE_DS,
  resetToSeed,
  serve,
  type TestServer,
} from "../helpers/server.js";
import { mint } from "../keys/helpers.js";
import { clientSession, decodeCustomToken, useEmulatorSigner } from "./fixture.js";

const RECORDS = `clio_annotations_global/neurons/${PRIVATE_DS}`;

describe("revocation reaches an attached listener", () => {
  useEmulatorSigner();
  let api: TestServer;
  before(async () => {
    api = await serve(apiGroups);
  });
  after(() => api.close());
  beforeEach(async () => {
    await resetToSeed(api);
    await firestore().doc(`${RECORDS}/id1`).set({ bodyid: 1, _head: true });
  });

  /**
   * Signs in with `credential`, listens to private-ds until the first snapshot, runs `revoke`,
   * then writes a record: answers the ids the listener saw and how it ended.
   */
  async function listenThrough(credential: string, revoke: () => Promise<void>) {
    const res = await call<{ token: string }>(api.url, "POST", "/v2/server/firebase-token", {
      token: credential,
    });
    assert.equal(res.status, 200, res.text);
    const session = clientSession(decodeCustomToken(res.body.token));
    const seen: string[] = [];
    let first!: () => void;
    const attached = new Promise<void>((r) => (first = r));
    const ended = new Promise<string>((resolve) => {
      onSnapshot(
        collection(session.db, RECORDS),
        (snap) => {
          for (const change of snap.docChanges()) seen.push(change.doc.id);
          first();
        },
        (err) => resolve(err.code),
      );
    });
    try {
      await attached;
      await revoke();
      await firestore().doc(`${RECORDS}/id2`).set({ bodyid: 2, _head: true });
      return { code: await ended, seen };
    } finally {
      await session.close();
    }
  }

  it("a revoked key", async () => {
    const writer = await apiToken(PERSONAS.writer);
    const key = await mint(api.url, writer, { name: "live", datasets: [PRIVATE_DS] });
    const got = await listenThrough(key.key, async () => {
      assert.equal((await call(api.url, "DELETE", `/v2/keys/${key.id}`, { token: writer })).status, 200);
    });
    assert.deepEqual(got, { code: "permission-denied", seen: ["id1"] });
  });

  it("POST /v2/server/revoke", async () => {
    const reader = await apiToken(PERSONAS.reader);
    const got = await listenThrough(reader, async () => {
      // The server compares whole seconds: revoke in a later second than the sign-in.
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await call(api.url, "POST", "/v2/server/revoke", { token: reader })).status, 200);
    });
    assert.deepEqual(got, { code: "permission-denied", seen: ["id1"] });
  });

  it("a user disabled while listening", async () => {
    const got = await listenThrough(await apiToken(PERSONAS.writer), async () => {
      await firestore().doc(`clio_users/${PERSONAS.writer}`).update({ disabled: true });
    });
    assert.deepEqual(got, { code: "permission-denied", seen: ["id1"] });
  });

  it("while nothing is revoked, the change arrives", async () => {
    const res = await call<{ token: string }>(api.url, "POST", "/v2/server/firebase-token", {
      token: await apiToken(PERSONAS.reader),
    });
    const session = clientSession(decodeCustomToken(res.body.token));
    const seen: string[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        onSnapshot(
          collection(session.db, RECORDS),
          (snap) => {
            for (const change of snap.docChanges()) seen.push(change.doc.id);
            if (seen.length === 1) void firestore().doc(`${RECORDS}/id2`).set({ bodyid: 2, _head: true });
            if (seen.includes("id2")) resolve();
          },
          reject,
        );
      });
    } finally {
      await session.close();
    }
    assert.deepEqual(seen, ["id1", "id2"]);
  });
});
