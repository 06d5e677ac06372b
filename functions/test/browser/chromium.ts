/**
 * A headless Chromium that comes from npm, so the browser test needs no apt step: the
 * `@sparticuz/chromium` package ships a brotli-compressed chrome-headless-shell, its SwiftShader
 * libraries and the NSS/NSPR/expat libraries it links against inside the tarball (nothing is
 * downloaded at install or run time). We unpack it once per package version into the temp
 * directory and reuse it; the NSS libraries go on LD_LIBRARY_PATH so a machine without Debian's
 * libnss3 runs it too.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { brotliDecompressSync } from "node:zlib";
import Chromium from "@sparticuz/chromium";

export interface BundledChromium {
  executablePath: string;
  /** Environment for the browser process (the bundled shared libraries). */
  env: Record<string, string>;
}

const NAME = "@sparticuz/chromium";

/** The package's folder: its exports map hides package.json, so walk up from its entry point. */
function packageRoot(): string {
  let dir = path.dirname(createRequire(import.meta.url).resolve("@sparticuz/chromium"));
  for (;;) {
    const file = path.join(dir, "package.json");
    if (existsSync(file) && (JSON.parse(readFileSync(file, "utf8")) as { name?: string }).name === NAME)
      return dir;
    if (dir === path.dirname(dir)) throw new Error(`${NAME} is not installed: run npm install`);
    dir = path.dirname(dir);
  }
}
const root = packageRoot();
const packageJson = path.join(root, "package.json");
const binDir = path.join(root, "bin");

/**
 * The package unpacks into os.tmpdir() itself, which several test runs could do at once; we point
 * it at a private staging directory and move the finished result into place in one rename.
 */
async function unpack(target: string): Promise<void> {
  const staging = await mkdtemp(`${target}.staging-`);
  try {
    await unpackInto(staging);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  try {
    await rename(staging, target);
  } catch (err) {
    // Another run finished first; use its copy.
    await rm(staging, { recursive: true, force: true });
    if (!existsSync(path.join(target, "complete"))) throw err;
  }
}

async function unpackInto(staging: string): Promise<void> {
  const savedTmp = process.env.TMPDIR;
  try {
    process.env.TMPDIR = staging;
    await Chromium.executablePath(binDir);
  } finally {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
  }
  // The package extracts these libraries only on Amazon Linux; we want them everywhere.
  const libs = path.join(staging, "al2023");
  await mkdir(libs);
  const untar = spawnSync("tar", ["-x", "-C", libs], {
    input: brotliDecompressSync(readFileSync(path.join(binDir, "al2023.tar.br"))),
  });
  if (untar.status !== 0) throw new Error(`unpacking Chromium's libraries failed: ${String(untar.stderr)}`);
  await writeFile(path.join(staging, "complete"), "");
}

export async function bundledChromium(): Promise<BundledChromium> {
  const { version } = JSON.parse(readFileSync(packageJson, "utf8")) as { version: string };
  const dir = path.join(os.tmpdir(), `neurofire-chromium-${version}`);
  if (!existsSync(path.join(dir, "complete"))) await unpack(dir);
  const libs = path.join(dir, "al2023", "lib");
  return {
    executablePath: path.join(dir, "chromium"),
    env: { LD_LIBRARY_PATH: [libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":") },
  };
}
