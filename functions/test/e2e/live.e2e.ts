/**
 * Live updates in a real browser (issue 14): headless Chromium loads a page on the Hosting origin
 * that signs in through POST /v2/server/firebase-token and the Auth emulator, then listens to a
 * dataset's json-annotations under firestore.rules; a second client writes through the HTTP API
 * and the page sees the change. A stranger's page is refused. The page is the Firebase client SDK
 * bundled by esbuild into a temp dir.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { build } from "esbuild";
import type { Page } from "playwright-core";
import { getAuth } from "firebase-admin/auth";
import { adminApp, firestore } from "../../src/store/firebase.js";
import { launchBrowser, type Browser } from "../browser/page.js";
import { apiToken, call, PERSONAS, PRIVATE_DS, seedPersonas } from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";
import { readFileSync } from "node:fs";

const HOSTING = "http://127.0.0.1:5000";
const PROJECT = "demo-neurofire";

function localSecret(): string {
  const file = readFileSync(path.join(import.meta.dirname, "..", "..", ".secret.local"), "utf8");
  return /FLYEM_SECRET=(.*)/.exec(file)![1]!.trim();
}

/** The page's script: sign in with our token, then listen; state is kept on `window.live`. */
const ENTRY = `
import { initializeApp } from "firebase/app";
import { connectAuthEmulator, getAuth, signInWithCustomToken } from "firebase/auth";
import { collection, connectFirestoreEmulator, getFirestore, onSnapshot } from "firebase/firestore";

window.startLive = async ({ credential, dataset, project, authUrl, firestoreHost }) => {
  const live = (window.live = { events: [], error: null, signedIn: false });
  const res = await fetch("/v2/server/firebase-token", {
    method: "POST",
    headers: { authorization: "Bearer " + credential },
  });
  if (!res.ok) throw new Error("firebase-token answered " + res.status);
  const { token } = await res.json();
  const app = initializeApp({ projectId: project, apiKey: "local" });
  const auth = getAuth(app);
  connectAuthEmulator(auth, authUrl, { disableWarnings: true });
  await signInWithCustomToken(auth, token);
  live.signedIn = true;
  const db = getFirestore(app);
  const [host, port] = firestoreHost.split(":");
  connectFirestoreEmulator(db, host, Number(port));
  onSnapshot(
    collection(db, "clio_annotations_global/neurons/" + dataset),
    (snap) => {
      const at = Date.now();
      live.events.push({ at, ids: snap.docChanges().map((c) => c.doc.id + ":" + (c.doc.get("status") ?? "")) });
    },
    (err) => (live.error = err.code),
  );
};
`;

interface LiveState {
  events: { at: number; ids: string[] }[];
  error: string | null;
  signedIn: boolean;
}

describe("live updates in a real browser", function () {
  this.timeout(180_000);
  let browser: Browser;
  let bundle: string;
  let bundleDir: string;

  before(async () => {
    assert.ok(
      process.env.FIREBASE_AUTH_EMULATOR_HOST,
      "run under firebase emulators:exec (npm run test:e2e)",
    );
    bundleDir = await mkdtemp(path.join(os.tmpdir(), "neurofire-live-"));
    await build({
      stdin: { contents: ENTRY, resolveDir: process.cwd(), loader: "js" },
      bundle: true,
      format: "iife",
      platform: "browser",
      outfile: path.join(bundleDir, "live.js"),
      logLevel: "silent",
    });
    bundle = await readFile(path.join(bundleDir, "live.js"), "utf8");
    browser = await launchBrowser();
    await clearFirestore();
    await seedPersonas();
  });
  after(async () => {
    await browser?.close();
    if (bundleDir) await rm(bundleDir, { recursive: true, force: true });
  });

  /** A tab on the Hosting origin (so the API is same-origin) running the bundled page. */
  async function livePage(credential: string): Promise<Page> {
    const tab = await browser.context.newPage();
    await tab.route(`${HOSTING}/live-test/**`, (route) =>
      route.fulfill({
        status: 200,
        contentType: route.request().url().endsWith(".js") ? "text/javascript" : "text/html",
        body: route.request().url().endsWith(".js")
          ? bundle
          : '<!doctype html><html><body><script src="/live-test/live.js"></script></body></html>',
      }),
    );
    await tab.goto(`${HOSTING}/live-test/index.html`);
    await tab.evaluate(
      (args) => (globalThis as unknown as { startLive(a: unknown): Promise<void> }).startLive(args),
      {
        credential,
        dataset: PRIVATE_DS,
        project: PROJECT,
        authUrl: `http://${process.env.FIREBASE_AUTH_EMULATOR_HOST}`,
        firestoreHost: process.env.FIRESTORE_EMULATOR_HOST,
      },
    );
    return tab;
  }

  const state = (tab: Page) => tab.evaluate(() => (globalThis as unknown as { live: LiveState }).live);

  it("a reader's page sees a writer's change made through the HTTP API", async () => {
    const secret = localSecret();
    const tab = await livePage(await apiToken(PERSONAS.reader, { secret }));
    await tab.waitForFunction(() => (globalThis as unknown as { live: LiveState }).live.events.length > 0);
    assert.equal((await state(tab)).error, null);

    const writer = await apiToken(PERSONAS.writer, { secret });
    // Each write's record appears on the page; the first also warms the function (not reported).
    const latencies: number[] = [];
    for (const bodyid of [76, 77, 78]) {
      const started = Date.now();
      const res = await call(HOSTING, "POST", `/v2/json-annotations/${PRIVATE_DS}/neurons`, {
        token: writer,
        body: { bodyid, status: "live" },
      });
      assert.equal(res.status, 200, res.text);
      const id = `id${bodyid}:live`;
      await tab.waitForFunction(
        (want) =>
          (globalThis as unknown as { live: LiveState }).live.events.some((e) => e.ids.includes(want)),
        id,
      );
      latencies.push((await state(tab)).events.find((e) => e.ids.includes(id))!.at - started);
    }
    process.stdout.write(
      `      API write → browser listener event: ${latencies.slice(1).join(" ms, ")} ms ` +
        `(first, cold function: ${latencies[0]} ms)\n`,
    );
    assert.equal((await state(tab)).error, null);
    await tab.close();
  });

  it("a Firebase ID token signs a page in too", async () => {
    const email = "live-viewer@example.org";
    await firestore()
      .doc(`clio_users/${email}`)
      .set({ datasets: { [PRIVATE_DS]: ["clio_read"] } });
    await getAuth(adminApp()).createUser({ email, password: "live listener pass", emailVerified: true });
    const signIn = await fetch(
      `http://${process.env.FIREBASE_AUTH_EMULATOR_HOST}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=local`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password: "live listener pass", returnSecureToken: true }),
      },
    );
    const { idToken } = (await signIn.json()) as { idToken: string };
    const tab = await livePage(idToken);
    await tab.waitForFunction(() => (globalThis as unknown as { live: LiveState }).live.events.length > 0);
    const got = await state(tab);
    assert.equal(got.error, null);
    // The records the writer posted above are there.
    assert.ok(got.events[0]!.ids.includes("id77:live"), JSON.stringify(got.events));
    await tab.close();
  });

  it("a stranger's page signs in but is refused the private dataset", async () => {
    const tab = await livePage(await apiToken(PERSONAS.unknown, { secret: localSecret() }));
    await tab.waitForFunction(() => (globalThis as unknown as { live: LiveState }).live.error !== null);
    const got = await state(tab);
    assert.equal(got.signedIn, true);
    assert.equal(got.error, "permission-denied");
    assert.deepEqual(got.events, []);
    await tab.close();
  });
});
