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

/** The local secrets (API-token key, neuPrint credential), created on first use. */
export function ensureLocalSecrets(): { FLYEM_SECRET: string; NEUPRINT_APPLICATION_CREDENTIALS: string } {
  const existing = parseEnvFile(SECRET_FILE);
  const secrets = {
    FLYEM_SECRET: existing.FLYEM_SECRET || randomBytes(32).toString("base64url"),
    NEUPRINT_APPLICATION_CREDENTIALS:
      existing.NEUPRINT_APPLICATION_CREDENTIALS || randomBytes(24).toString("base64url"),
  };
  if (
    secrets.FLYEM_SECRET !== existing.FLYEM_SECRET ||
    secrets.NEUPRINT_APPLICATION_CREDENTIALS !== existing.NEUPRINT_APPLICATION_CREDENTIALS
  ) {
    writeFileSync(
      SECRET_FILE,
      Object.entries({ ...existing, ...secrets })
        .map(([k, v]) => `${k}=${v}`)
        .join("\n") + "\n",
      {
        mode: 0o600,
      },
    );
  }
  return secrets;
}

/** The local FLYEM_SECRET, created on first use. */
export function ensureLocalSecret(): string {
  return ensureLocalSecrets().FLYEM_SECRET;
}

/**
 * Writes the params the local stack needs (loopback endpoints) into functions/.env.local. The file
 * is replaced, not merged: a param dropped or renamed since the last run must not linger there.
 */
export function writeLocalParams(values: Record<string, string>): void {
  writeFileSync(
    ENV_FILE,
    Object.entries(values)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n") + "\n",
  );
}
