/**
 * A real browser reads an HDF5 slice through /v2/files: headless Chromium loads a page that asks
 * the API for a signed URL, and h5wasm's browser build reads the loopback bucket with range
 * requests. The browser is the chrome-headless-shell that the `@sparticuz/chromium` dev
 * dependency ships (see chromium.ts), so `npm install` is all it needs.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium as playwright, type BrowserContext } from "playwright-core";
import { personaTokens, PRIVATE_DS, seedPersonas } from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";
import { bundledChromium } from "./chromium.js";
import {
  NWB,
  seedDatasetFiles,
  seedObjects,
  startFilesFixture,
  type FilesFixture,
} from "../files/fixture.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const h5wasmDist = path.resolve(here, "../../../node_modules/h5wasm/dist/esm");

/**
 * The page, its worker (kept inside the page as a text script, served as a module) and h5wasm's
 * ESM build, from a third loopback origin.
 */
async function servePage(): Promise<{ url: string; close(): Promise<void> }> {
  const files: Record<string, string> = {
    "/": path.join(here, "h5wasm.html"),
  };
  const server = http.createServer((req, res) => {
    const p = (req.url ?? "/").split("?")[0]!;
    if (p === "/h5wasm-worker.js") {
      readFile(files["/"]!, "utf8").then(
        (html) => {
          const worker = /<script id="worker" type="text\/plain">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? "";
          res.writeHead(200, { "content-type": "text/javascript" }).end(worker);
        },
        () => res.writeHead(500).end(),
      );
      return;
    }
    const file = files[p] ?? (p.startsWith("/h5wasm/") ? path.join(h5wasmDist, path.basename(p)) : undefined);
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (data) => {
        const type = file.endsWith(".html") ? "text/html" : "text/javascript";
        res.writeHead(200, { "content-type": type, "content-length": data.length }).end(data);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

describe("h5wasm in a real browser", function () {
  this.timeout(120_000);
  let fx: FilesFixture;
  let page: { url: string; close(): Promise<void> };
  let browser: BrowserContext;
  let profile: string;

  before(async () => {
    const chromium = await bundledChromium();
    fx = await startFilesFixture();
    page = await servePage();
    profile = await mkdtemp(path.join(os.tmpdir(), "neurofire-profile-"));
    browser = await playwright.launchPersistentContext(profile, {
      executablePath: chromium.executablePath,
      env: { ...process.env, ...chromium.env },
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });
  after(async () => {
    await browser?.close();
    await page?.close();
    await fx?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
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
    const tab = await browser.newPage();
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
