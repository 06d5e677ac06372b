/**
 * Starts the official Cloud Firestore emulator for tests and `npm start`.
 *
 * firebase-tools' own Firestore emulator needs Java 21 and a download, which many machines (ours
 * included) cannot provide; the Google Cloud SDK ships the same emulator as a JAR that runs on
 * Java 11+. We find that JAR through `gcloud info` (or FIRESTORE_EMULATOR_JAR) and start it on
 * loopback. There is deliberately no in-memory fallback: it would return wrong data.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";

export interface FirestoreEmulator {
  host: string; // "127.0.0.1:PORT", the FIRESTORE_EMULATOR_HOST value
  projectId: string;
  clear(): Promise<void>;
  stop(): Promise<void>;
}

const MAIN_CLASS = "com.google.cloud.datastore.emulator.firestore.CloudFirestore";

const INSTALL_HINT =
  "Install the Google Cloud SDK with its Firestore emulator component " +
  "(`gcloud components install cloud-firestore-emulator`, or the Debian package " +
  "google-cloud-cli-firestore-emulator) and a Java runtime (11 or newer), or set FIRESTORE_EMULATOR_JAR " +
  "to the path of cloud-firestore-emulator.jar.";

/** The Java major version on PATH, or undefined when there is no java. */
export function javaMajorVersion(): number | undefined {
  const out = spawnSync("java", ["-version"], { encoding: "utf8" });
  if (out.error) return undefined;
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${out.stderr}${out.stdout}`);
  if (!match) return undefined;
  const major = Number(match[1]);
  return major === 1 ? Number(match[2]) : major;
}

/** Locates the SDK's emulator JAR, or throws with instructions. */
export function findFirestoreJar(): string {
  const fromEnv = process.env.FIRESTORE_EMULATOR_JAR;
  if (fromEnv) {
    if (!existsSync(fromEnv))
      throw new Error(`FIRESTORE_EMULATOR_JAR=${fromEnv} does not exist. ${INSTALL_HINT}`);
    return fromEnv;
  }
  const info = spawnSync("gcloud", ["info", "--format=value(installation.sdk_root)"], { encoding: "utf8" });
  if (info.error || info.status !== 0) {
    throw new Error(
      `No Firestore emulator found: the Google Cloud SDK (gcloud) is not installed. ${INSTALL_HINT}`,
    );
  }
  const jar = path.join(
    info.stdout.trim(),
    "platform",
    "cloud-firestore-emulator",
    "cloud-firestore-emulator.jar",
  );
  if (!existsSync(jar)) {
    throw new Error(`The Google Cloud SDK has no Firestore emulator (looked for ${jar}). ${INSTALL_HINT}`);
  }
  if (javaMajorVersion() === undefined) throw new Error(`No Java runtime found on PATH. ${INSTALL_HINT}`);
  return jar;
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Firestore emulator exited with code ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Firestore emulator did not answer on ${url} within ${timeoutMs} ms`);
}

export interface StartOptions {
  port?: number;
  projectId: string;
  /** Passed through to the emulator as --seed_from_export. */
  seedFromExport?: string;
  /**
   * `HOST:PORT` of firebase-tools' Functions emulator, passed as --functions_emulator: the
   * emulator then sends Firestore trigger events (the jobs runner, docs/jobs.md) there.
   */
  functionsEmulator?: string;
  /** Where the emulator's own output goes (default: ignored). */
  stdio?: "inherit" | "ignore";
  /** A security rules file (passed as --rules): client SDKs are then checked against it. */
  rules?: string;
}

/** Starts the SDK emulator JAR on 127.0.0.1 and resolves once it answers. */
export async function startFirestoreEmulator(options: StartOptions): Promise<FirestoreEmulator> {
  const jar = findFirestoreJar();
  const port = options.port ?? (await freePort());
  const args = ["-Duser.language=en", "-cp", jar, MAIN_CLASS, "start", "--host=127.0.0.1", `--port=${port}`];
  if (options.seedFromExport) args.push(`--seed_from_export=${options.seedFromExport}`);
  if (options.rules) args.push(`--rules=${options.rules}`);
  if (options.functionsEmulator) args.push(`--functions_emulator=${options.functionsEmulator}`);
  const child = spawn("java", args, { stdio: options.stdio ?? "ignore" });
  const host = `127.0.0.1:${port}`;
  try {
    await waitUntilReady(`http://${host}/`, child, 30_000);
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  const documentsUrl = `http://${host}/emulator/v1/projects/${options.projectId}/databases/(default)/documents`;
  return {
    host,
    projectId: options.projectId,
    async clear() {
      const res = await fetch(documentsUrl, { method: "DELETE" });
      if (!res.ok) throw new Error(`Clearing the Firestore emulator failed: ${res.status}`);
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}
