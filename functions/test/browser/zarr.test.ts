/**
 * A real browser reads the seeded zarr v3 array with zarrita and a downscoped token: headless
 * Chromium loads a page that asks /v2/files/{dataset}/credentials once, then reads metadata and
 * chunks from the loopback Cloud Storage (which enforces the token's boundary). The functions see
 * the token request and nothing after it. zarrita's browser bundle is built with esbuild into a
 * temp directory.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { ZARR_PATH, zarrValue } from "../../loopback/zarr-seed.js";
import { personaTokens, PRIVATE_DS, resetToSeed } from "../helpers/server.js";
import {
  seedCredentialObjects,
  startCredentialsFixture,
  type CredentialsFixture,
} from "../files/credentials-fixture.js";
import { seedDatasetFiles } from "../files/fixture.js";
import { launchBrowser, servePage, type Browser, type PageServer } from "./page.js";

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

describe("zarr in a real browser with a downscoped token", function () {
  this.timeout(120_000);
  let fx: CredentialsFixture;
  let page: PageServer;
  let browser: Browser;
  let tmp: string;

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "neurofire-zarr-browser-"));
    const bundle = path.join(tmp, "bundle");
    await bundleZarrita(bundle);
    fx = await startCredentialsFixture();
    page = await servePage((p) =>
      p === "/"
        ? path.join(here, "zarr.html")
        : p.startsWith("/zarrita/")
          ? path.join(bundle, path.basename(p))
          : undefined,
    );
    browser = await launchBrowser();
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

    const tab = await browser.context.newPage();
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
