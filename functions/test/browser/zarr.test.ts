/**
 * A real browser reads the seeded zarr v3 array with zarrita and a downscoped token: headless
 * Chromium loads a page that asks /v2/files/{dataset}/credentials once, then reads metadata and
 * chunks from the loopback Cloud Storage (which enforces the token's boundary). The functions see
 * the token request and nothing after it. zarrita's browser bundle is built with esbuild into a
 * temp directory.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium as playwright, type BrowserContext } from "playwright-core";
import { ZARR_PATH, zarrValue } from "../../loopback/zarr-seed.js";
import { personaTokens, PRIVATE_DS, resetToSeed } from "../helpers/server.js";
import {
  seedCredentialObjects,
  startCredentialsFixture,
  type CredentialsFixture,
} from "../files/credentials-fixture.js";
import { seedDatasetFiles } from "../files/fixture.js";
import { bundledChromium } from "./chromium.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../../..");

/** zarrita as browser ES modules (its codecs load lazily as split chunks). */
async function bundleZarrita(outdir: string): Promise<void> {
  await build({
    stdin: { contents: 'export * from "zarrita";', resolveDir: repoRoot, loader: "js" },
    bundle: true,
    format: "esm",
    platform: "browser",
    splitting: true,
    outdir,
    entryNames: "zarrita",
    logLevel: "error",
  });
}

async function servePage(bundleDir: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const p = (req.url ?? "/").split("?")[0]!;
    const file =
      p === "/"
        ? path.join(here, "zarr.html")
        : p.startsWith("/zarrita/")
          ? path.join(bundleDir, path.basename(p))
          : undefined;
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

describe("zarr in a real browser with a downscoped token", function () {
  this.timeout(120_000);
  let fx: CredentialsFixture;
  let page: { url: string; close(): Promise<void> };
  let browser: BrowserContext;
  let tmp: string;

  before(async () => {
    const chromium = await bundledChromium();
    tmp = await mkdtemp(path.join(os.tmpdir(), "neurofire-zarr-browser-"));
    await bundleZarrita(path.join(tmp, "bundle"));
    fx = await startCredentialsFixture();
    page = await servePage(path.join(tmp, "bundle"));
    browser = await playwright.launchPersistentContext(path.join(tmp, "profile"), {
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
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("reads a slice across four chunks, and calls the functions only for the token", async () => {
    await resetToSeed(fx.api);
    await seedDatasetFiles();
    await seedCredentialObjects(fx);
    fx.api.deps.datasets.invalidate();
    const tokens = await personaTokens();
    const [y0, y1, x0, x1] = [20, 44, 28, 36];
    const hash = new URLSearchParams({
      api: fx.api.url,
      token: tokens.reader!,
      dataset: PRIVATE_DS,
      path: ZARR_PATH,
      y0: String(y0),
      y1: String(y1),
      x0: String(x0),
      x1: String(x1),
    });
    const apiRequests = () => fx.api.logs.filter((l) => l.message === "request");
    const before = apiRequests().length;
    fx.gcs.resetStats();

    const tab = await browser.newPage();
    const consoleLines: string[] = [];
    tab.on("console", (m) => consoleLines.push(m.text()));
    await tab.goto(`${page.url}/#${hash.toString()}`);
    await tab.waitForFunction(() => (globalThis as { zarrResult?: unknown }).zarrResult !== undefined, null, {
      timeout: 90_000,
    });
    const result = (await tab.evaluate(
      () => (globalThis as unknown as { zarrResult: unknown }).zarrResult,
    )) as {
      shape?: number[];
      values?: number[];
      dtype?: string;
      requests?: number;
      error?: string;
    };
    assert.equal(result.error, undefined, `${result.error}\n${consoleLines.join("\n")}`);
    assert.equal(result.dtype, "uint16");
    assert.deepEqual(result.shape, [y1 - y0, x1 - x0]);
    const expected: number[] = [];
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) expected.push(zarrValue(y, x));
    assert.deepEqual(result.values, expected);

    // zarr.json and the four chunks the slice crosses came from storage, with the token...
    assert.ok((result.requests ?? 0) >= 5, `the page made ${result.requests} storage reads`);
    assert.ok(fx.gcs.stats().requests >= 5, "storage served them");
    // ...and the functions saw only the token request (and its CORS preflight).
    const seen = apiRequests().slice(before);
    assert.ok(seen.length >= 1 && seen.length <= 2, `the functions saw ${seen.length} requests`);
    for (const line of seen) assert.equal(line.fields.path, `/v2/files/${PRIVATE_DS}/credentials`);
    assert.deepEqual(
      seen.map((l) => l.fields.method).filter((m) => m !== "OPTIONS"),
      ["POST"],
    );
  });
});
