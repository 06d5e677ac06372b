/**
 * firestore.rules are the permission table (issue 14): one principal × document × action matrix,
 * decided once by the server's code (auth/permissions.ts, the key scope, the credential checks,
 * services/atlas.ts) and once by the rules through the Firebase client SDK, as a browser listening
 * would. Every session is minted through POST /v2/server/firebase-token from a real credential.
 */
import assert from "node:assert/strict";
import { collection, doc, getDoc, getDocs, query, setDoc, where } from "firebase/firestore";
import { apiGroups } from "../../src/api/groups.js";
import { applyScope } from "../../src/auth/keys.js";
import { allows, type Permission } from "../../src/auth/permissions.js";
import { scopeSchema } from "../../src/auth/scope.js";
import type { User } from "../../src/schemas/users.js";
import { visiblePointPages } from "../../src/services/atlas.js";
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
import { mint } from "../keys/helpers.js";
import { clientSession, decodeCustomToken, outcome, useEmulatorSigner, type Minted } from "./fixture.js";

const OTHER_DS = "other-ds";
const DATASETS = [PRIVATE_DS, PUBLIC_DS, OTHER_DS];
const OWNER = "owner@example.org";
const LEGACY = "legacy@example.org";
const GLOBAL_READER = "global-reader@example.org";
const GLOBAL_DSADMIN = "global-dsadmin@example.org";
const LATER_DISABLED = "later-disabled@example.org";
const REVOKED = "revoked@example.org";

interface Principal {
  label: string;
  /** The credential the session was minted from; the server judges it as it stands now. */
  credential?: string;
  session?: Minted;
}

interface Point {
  id: string;
  dataset: string;
  user: string;
  verified: boolean;
}

const POINTS: Point[] = DATASETS.flatMap((dataset) => [
  { id: `${dataset}-reader`, dataset, user: PERSONAS.reader, verified: false },
  { id: `${dataset}-writer-verified`, dataset, user: PERSONAS.writer, verified: true },
  { id: `${dataset}-stranger`, dataset, user: PERSONAS.unknown, verified: false },
]);
const JOBS = [
  { id: "job-reader", owner: PERSONAS.reader },
  { id: "job-writer", owner: PERSONAS.writer },
  { id: "job-owner", owner: OWNER },
];

async function seedDocuments(): Promise<void> {
  const db = firestore();
  const batch = db.batch();
  batch.set(db.doc(`clio_datasets/${OTHER_DS}`), { description: "private, nobody's" });
  batch.set(db.doc(`clio_users/${LEGACY}`), { clio_global: ["clio_write"] });
  batch.set(db.doc(`clio_users/${GLOBAL_READER}`), { global_roles: ["clio_read"], groups: ["team"] });
  batch.set(db.doc(`clio_users/${GLOBAL_DSADMIN}`), { global_roles: ["dataset_admin"] });
  batch.set(db.doc(`clio_users/${LATER_DISABLED}`), { global_roles: ["admin"] });
  batch.set(db.doc(`clio_users/${REVOKED}`), { datasets: { [PRIVATE_DS]: ["clio_write"] } });
  for (const ds of DATASETS) {
    batch.set(db.doc(`clio_annotations_global/neurons/${ds}/id1`), {
      bodyid: 1,
      status: "Anchor",
      _head: true,
    });
    batch.set(db.doc(`neurofire_audit_feeds/${ds}/changes/00000001`), { action: "json-annotations.write" });
  }
  for (const p of POINTS) {
    batch.set(db.doc(`clio_annotations/ATLAS/annotations/${p.id}`), {
      title: p.id,
      dataset: p.dataset,
      user: p.user,
      verified: p.verified,
      locationkey: "1_2_3",
      location: [1, 2, 3],
      timestamp: 1700000000,
    });
  }
  for (const j of JOBS)
    batch.set(db.doc(`neurofire_jobs/${j.id}`), { owner: j.owner, kind: "transfer", state: "running" });
  batch.set(db.doc("catalog_runs/run1"), { source: "dandi", state: "done" });
  await batch.commit();
}

describe("firestore.rules decide as auth/permissions.ts", () => {
  useEmulatorSigner();
  let api: TestServer;
  let judge: TestServer;
  const principals: Principal[] = [];

  before(async function () {
    this.timeout(60_000);
    api = await serve(apiGroups);
    await resetToSeed(api);
    await seedDocuments();

    const live = async (credential: string): Promise<Minted> => {
      const res = await call<{ token: string }>(api.url, "POST", "/v2/server/firebase-token", {
        token: credential,
      });
      assert.equal(res.status, 200, res.text);
      return decodeCustomToken(res.body.token);
    };
    const add = async (label: string, credential: string) =>
      principals.push({ label, credential, session: await live(credential) });

    for (const [label, email] of [
      ["unknown signed-in", PERSONAS.unknown],
      ["reader (clio_general, group team)", PERSONAS.reader],
      ["writer (clio_write)", PERSONAS.writer],
      ["dataset admin", PERSONAS.datasetAdmin],
      ["global admin", PERSONAS.admin],
      ["OWNER (admin without a document)", OWNER],
      ["legacy clio_global clio_write", LEGACY],
      ["global clio_read", GLOBAL_READER],
      ["global dataset_admin (meaningless)", GLOBAL_DSADMIN],
      ["admin, disabled after sign-in", LATER_DISABLED],
      ["session revoked by /v2/server/revoke", REVOKED],
    ] as const) {
      await add(label, await apiToken(email));
    }
    const admin = await apiToken(PERSONAS.admin);
    const writer = await apiToken(PERSONAS.writer);
    const dsAdmin = await apiToken(PERSONAS.datasetAdmin);
    const reader = await apiToken(PERSONAS.reader);
    await add(
      "admin's read-only key on private-ds",
      (await mint(api.url, admin, { name: "ro", datasets: [PRIVATE_DS] })).key,
    );
    await add(
      "writer's clio_general key on private-ds + public-ds",
      (await mint(api.url, writer, { name: "w", datasets: [PRIVATE_DS, PUBLIC_DS], role: "clio_general" }))
        .key,
    );
    await add(
      "dataset admin's dataset_admin key on private-ds",
      (await mint(api.url, dsAdmin, { name: "a", datasets: [PRIVATE_DS], role: "dataset_admin" })).key,
    );
    await add(
      "admin's dataset_admin key on public-ds + other-ds (no longer an admin)",
      (await mint(api.url, admin, { name: "s", datasets: [PUBLIC_DS, OTHER_DS], role: "dataset_admin" })).key,
    );
    await add(
      "reader's viewer token on public-ds",
      (await mint(api.url, reader, { dataset: PUBLIC_DS }, "/v2/keys/viewer")).key,
    );
    const doomed = await mint(api.url, writer, {
      name: "doomed",
      datasets: [PRIVATE_DS],
      role: "clio_write",
    });
    await add("writer's key, revoked after sign-in", doomed.key);

    // What happens after the sessions were minted: a revoked key, revoked tokens, a disabled user.
    assert.equal((await call(api.url, "DELETE", `/v2/keys/${doomed.id}`, { token: writer })).status, 200);
    const revoker = principals.find((p) => p.label.startsWith("session revoked"))!;
    // Revocation compares whole seconds, as the server does: revoke in a later second than the mint.
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(
      (await call(api.url, "POST", "/v2/server/revoke", { token: revoker.credential })).status,
      200,
    );
    await firestore().doc(`clio_users/${LATER_DISABLED}`).update({ disabled: true });

    const expired = await live(reader);
    expired.claims.nf.exp = Math.floor(Date.now() / 1000) - 1;
    principals.push({
      label: "reader, session past nf.exp",
      credential: await apiToken(PERSONAS.reader, { expiresIn: -1 }),
      session: expired,
    });
    principals.push({ label: "anonymous" });
    // The judge: a fresh instance, whose caches know every revocation above.
    judge = await serve(apiGroups);
  });
  after(async () => {
    await api.close();
    await judge.close();
  });

  /** The server's view of a principal now: its User (scope applied) if its credential still passes. */
  async function serverUser(p: Principal): Promise<User | undefined> {
    if (!p.credential) return undefined;
    const res = await call(judge.url, "GET", "/v2/roles", { token: p.credential });
    if (res.status === 401) return undefined;
    const kid = p.session?.claims.nf.kid;
    const scope = kid
      ? scopeSchema.parse((await judge.deps.db.doc(`neurofire_api_keys/${kid}`).get()).get("scope"))
      : undefined;
    return applyScope(await judge.deps.users.get(p.session!.claims.nf.email), scope);
  }

  it("agrees on every cell", async function () {
    this.timeout(300_000);
    const want: Record<string, string> = {};
    const got: Record<string, string> = {};
    const verdict = (b: boolean) => (b ? "allowed" : "denied");
    for (const p of principals) {
      const user = await serverUser(p);
      const email = p.session?.claims.nf.email;
      const isPublic = (ds: string) => ds === PUBLIC_DS;
      const can = (perm: Permission, ds?: string) =>
        user !== undefined && allows(user, perm, ds, ds !== undefined && isPublic(ds));
      const active = user !== undefined && !user.disabled;
      const visible = new Set(
        active ? (await (await visiblePointPages(judge.deps, user))(undefined, 1000)).map((i) => i.key) : [],
      );
      const client = clientSession(p.session);
      const { db } = client;
      try {
        const cell = async (name: string, expected: boolean, read: () => Promise<unknown>) => {
          want[`${p.label} | ${name}`] = verdict(expected);
          got[`${p.label} | ${name}`] = await outcome(read);
        };
        for (const ds of DATASETS) {
          const records = `clio_annotations_global/neurons/${ds}`;
          await cell(`get json-annotation of ${ds}`, can("can_read", ds), () =>
            getDoc(doc(db, `${records}/id1`)),
          );
          await cell(`listen to json-annotations of ${ds}`, can("can_read", ds), () =>
            getDocs(collection(db, records)),
          );
          await cell(`write json-annotation of ${ds}`, false, () =>
            setDoc(doc(db, `${records}/id2`), { bodyid: 2 }),
          );
          await cell(`get change feed of ${ds}`, can("is_dataset_admin", ds), () =>
            getDoc(doc(db, `neurofire_audit_feeds/${ds}/changes/00000001`)),
          );
          await cell(`list change feed of ${ds}`, can("is_dataset_admin", ds), () =>
            getDocs(collection(db, `neurofire_audit_feeds/${ds}/changes`)),
          );
        }
        const atlas = collection(db, "clio_annotations/ATLAS/annotations");
        for (const ds of DATASETS) {
          await cell(`listen to verified atlas points of ${ds}`, can("can_read", ds), () =>
            getDocs(query(atlas, where("dataset", "==", ds), where("verified", "==", true))),
          );
          if (email) {
            await cell(`listen to own atlas points of ${ds}`, active && can("can_read", ds), () =>
              getDocs(query(atlas, where("dataset", "==", ds), where("user", "==", email))),
            );
          }
        }
        for (const point of POINTS) {
          await cell(`get atlas point ${point.id}`, visible.has(point.id), () =>
            getDoc(doc(db, `clio_annotations/ATLAS/annotations/${point.id}`)),
          );
        }
        for (const job of JOBS) {
          await cell(`get ${job.id}`, active && job.owner === email, () =>
            getDoc(doc(db, `neurofire_jobs/${job.id}`)),
          );
        }
        if (email) {
          await cell("list own jobs", active, () =>
            getDocs(query(collection(db, "neurofire_jobs"), where("owner", "==", email))),
          );
        }
        await cell("list all jobs", false, () => getDocs(collection(db, "neurofire_jobs")));
        await cell("get harvest run", can("is_admin"), () => getDoc(doc(db, "catalog_runs/run1")));
        await cell("list harvest runs", can("is_admin"), () => getDocs(collection(db, "catalog_runs")));
        await cell("get clio_users entry", false, () => getDoc(doc(db, `clio_users/${PERSONAS.admin}`)));
        await cell("get an API key document", false, () => getDocs(collection(db, "neurofire_api_keys")));
      } finally {
        await client.close();
      }
    }
    assert.deepEqual(got, want);
    // The matrix is not vacuous: both answers occur, for reads of every kind.
    const answers = Object.values(want);
    assert.ok(answers.filter((a) => a === "allowed").length > 60, "many cells allowed");
    assert.ok(answers.filter((a) => a === "denied").length > 60, "many cells denied");
  });
});
