/**
 * What the browser tests share: a loopback origin for a test page and its scripts, and the bundled
 * headless Chromium (chromium.ts) launched with a throwaway profile.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { chromium as playwright, type BrowserContext } from "playwright-core";
import { bundledChromium } from "./chromium.js";

/** A file to send (its type from its extension), or a script made in the test. */
export type Served = string | { script: string };

export interface PageServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `route(path)` for each GET (query ignored); undefined or an unreadable file is a 404. */
export async function servePage(
  route: (urlPath: string) => Served | undefined | Promise<Served | undefined>,
): Promise<PageServer> {
  const server = http.createServer((req, res) => {
    const p = (req.url ?? "/").split("?")[0]!;
    (async () => {
      const served = await route(p);
      if (served === undefined) {
        res.writeHead(404).end();
      } else if (typeof served !== "string") {
        res.writeHead(200, { "content-type": "text/javascript" }).end(served.script);
      } else {
        const data = await readFile(served);
        const type = served.endsWith(".html") ? "text/html" : "text/javascript";
        res.writeHead(200, { "content-type": type, "content-length": data.length }).end(data);
      }
    })().catch(() => res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

export interface Browser {
  context: BrowserContext;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const chromium = await bundledChromium();
  const profile = await mkdtemp(path.join(os.tmpdir(), "neurofire-profile-"));
  try {
    const context = await playwright.launchPersistentContext(profile, {
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
    return {
      context,
      close: async () => {
        await context.close();
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
}
