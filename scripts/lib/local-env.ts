/**
 * The local values of the functions' params and secrets. They live in gitignored
 * `functions/.env.local` and `functions/.secret.local`, which the Functions emulator reads; the
 * API-token key is generated once per checkout, so no secret is ever committed.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

export const ROOT = path.join(import.meta.dirname, "..", "..");
export const PROJECT_ID = "demo-neurofire";
const SECRET_FILE = path.join(ROOT, "functions", ".secret.local");
const ENV_FILE = path.join(ROOT, "functions", ".env.local");

/** Fixed local ports, mirrored in firebase.json. */
export const PORTS = { firestore: 8080, hosting: 5000, functions: 5001, auth: 9099 };

function parseEnvFile(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) out[match[1]!] = match[2]!;
  }
  return out;
}

/** The local FLYEM_SECRET, created on first use. */
export function ensureLocalSecret(): string {
  const existing = parseEnvFile(SECRET_FILE).FLYEM_SECRET;
  if (existing) return existing;
  const secret = randomBytes(32).toString("base64url");
  writeFileSync(SECRET_FILE, `FLYEM_SECRET=${secret}\n`, { mode: 0o600 });
  return secret;
}

/** Writes the params the local stack needs (loopback endpoints) into functions/.env.local. */
export function writeLocalParams(values: Record<string, string>): void {
  const merged = { ...parseEnvFile(ENV_FILE), ...values };
  writeFileSync(
    ENV_FILE,
    Object.entries(merged)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n") + "\n",
  );
}
