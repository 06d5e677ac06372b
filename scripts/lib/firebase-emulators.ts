/**
 * Runs firebase-tools' Auth, Functions and Hosting emulators (pure Node, offline) against a
 * Firestore emulator we started, which the functions reach through FIRESTORE_EMULATOR_HOST.
 * firebase-tools runs Firestore itself only with Java 21+, which it also needs to download.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { ROOT, PROJECT_ID } from "./local-env.js";

export const FIREBASE_BIN = path.join(ROOT, "node_modules", ".bin", "firebase");
export const EMULATORS = "auth,functions,hosting";

/**
 * How many requests the Functions emulator runs at once, all functions together. Cloud Functions
 * (2nd gen) serves up to 80 concurrent requests per instance; the emulator instead gives every
 * request it runs a worker process of its own, and starts a new one whenever none is idle. Left
 * at its default (50), a burst of 20 requests to a cold function starts 20 workers that each
 * import the codebase at once; on a busy 2-core machine none becomes ready within the emulator's
 * load timeout ("Failed to load function.") and Hosting answers 504. With a few at a time the
 * rest queue and reuse the first workers once they are warm.
 */
export const FUNCTIONS_EMULATOR_PARALLEL = "4";

/** Environment for firebase-tools: local only, quiet, no metadata-server probing. */
export function firebaseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    METADATA_SERVER_DETECTION: "none",
    FIREBASE_CLI_DISABLE_UPDATE_CHECK: "true",
    FIREBASE_CLI_EXPERIMENTS: "",
    FUNCTIONS_EMULATOR_PARALLEL,
    // Seconds a worker may take to load the functions before the emulator gives up on it.
    FUNCTIONS_DISCOVERY_TIMEOUT: "60",
    ...extra,
  };
}

export function spawnFirebase(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(FIREBASE_BIN, [...args, "--project", PROJECT_ID], {
    cwd: ROOT,
    env,
    stdio: "inherit",
    detached: true,
  });
}

/** Stops a detached child and everything it started. */
export function killTree(child: ChildProcess, signal: NodeJS.Signals = "SIGINT"): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

export async function waitForUrl(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      // Hosting answers 404 for a rewrite until the Functions emulator has loaded the function.
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}
