/**
 * A real browser reads an HDF5 slice through /v2/files: headless Chromium loads a page that asks
 * the API for a signed URL, and h5wasm's browser build reads the loopback bucket with range
 * requests. The browser is the chrome-headless-shell that the `@sparticuz/chromium` dev
 * dependency ships (see chromium.ts), so `npm install` is all it needs.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { personaTokens, PRIVATE_DS, seedPersonas } from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";
import {
  NWB,
  seedDatasetFiles,
  seedObjects,
  startFilesFixture,
  type FilesFixture,
} from "../files/fixture.js";
import { launchBrowser, servePage, type Browser, type PageServer, type Served } from "./page.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const h5wasmDist = path.resolve(here, "../../../node_modules/h5wasm/dist/esm");

const html = path.join(here, "h5wasm.html");

/**
 * The page, its worker (kept inside the page as a text script, served as a module) and h5wasm's
 * ESM build, from a third loopback origin.
 */
async function h5wasmFile(p: string): Promise<Served | undefined> {
  if (p === "/") return html;
  if (p === "/h5wasm-worker.js") {
    const page = await readFile(html, "utf8");
    return { script: /<script id="worker" type="text\/plain">([\s\S]*?)<\/script>/.exec(page)?.[1] ?? "" };
  }
  return p.startsWith("/h5wasm/") ? path.join(h5wasmDist, path.basename(p)) : undefined;
}

describe("h5wasm in a real browser", function () {
  this.timeout(120_000);
  let fx: FilesFixture;
  let page: PageServer;
  let browser: Browser;

  before(async () => {
    fx = await startFilesFixture();
    page = await servePage(h5wasmFile);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await page?.close();
    await fx?.close();
  });

  it("reads a slice of the seeded recording through a signed URL, touching a small part of the file", async () => {
    await clearFirestore();
    await seedPersonas();
    await seedDatasetFiles();
    await seedObjects(fx);
    const tokens = await personaTokens();
    fx.gcs.resetStats();
    const [t0, t1, c0, c1] = [4000, 4010, 100, 104];
    const hash = new URLSearchParams({
      api: fx.api.url,
      token: tokens.reader!,
      dataset: PRIVATE_DS,
      path: NWB,
      t0: String(t0),
      t1: String(t1),
      c0: String(c0),
      c1: String(c1),
    });
    const tab = await browser.context.newPage();
    const consoleLines: string[] = [];
    tab.on("console", (m) => consoleLines.push(m.text()));
    await tab.goto(`${page.url}/#${hash.toString()}`);
    await tab.waitForFunction(
      () => (globalThis as unknown as { h5result?: unknown }).h5result !== undefined,
      null,
      {
        timeout: 90_000,
      },
    );
    const result = (await tab.evaluate(() => (globalThis as unknown as { h5result: unknown }).h5result)) as {
      values?: number[];
      identifier?: string;
      shape?: number[];
      requests?: number;
      bytes?: number;
      error?: string;
    };
    assert.equal(result.error, undefined, `${result.error}\n${consoleLines.join("\n")}`);
    assert.equal(result.identifier, "neurofire-demo-session-001");
    assert.deepEqual(result.shape, [8000, 256]);
    const expected: number[] = [];
    for (let t = t0; t < t1; t++) for (let c = c0; c < c1; c++) expected.push(c + t / 1024);
    assert.deepEqual(result.values, expected);
    const served = fx.gcs.stats().bytesServed;
    assert.ok(
      served > 0 && served === result.bytes,
      `storage served ${served}, the page read ${result.bytes}`,
    );
    assert.ok(served < fx.nwbBytes.length / 10, `transferred ${served} of ${fx.nwbBytes.length} bytes`);
  });
});
