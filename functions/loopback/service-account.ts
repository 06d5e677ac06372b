/**
 * A local service-account credential for signing Cloud Storage URLs offline. It is generated at
 * run time (never committed) in the JSON key-file format Google issues, so the real
 * `@google-cloud/storage` client signs V4 URLs with it exactly as it would with a downloaded key,
 * and the loopback storage server verifies them with the matching public key.
 */
import crypto from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

export interface ServiceAccountKey {
  type: "service_account";
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  token_uri: string;
}

export interface LocalServiceAccount {
  credentials: ServiceAccountKey;
  /** SPKI PEM of the key, for `startStorageServer({ signerPublicKeys })`. */
  publicKeyPem: string;
  /** Where the key file was written, when a path was given. */
  path?: string;
}

export interface ServiceAccountOptions {
  projectId?: string;
  /** Defaults to `storage-signer@<projectId>.iam.gserviceaccount.com`. */
  clientEmail?: string;
  /** Write the key file here (mode 0600), creating parent directories. */
  path?: string;
}

/** Generates a fresh RSA-2048 service-account key, optionally writing it as a key file. */
export async function createServiceAccount(opts: ServiceAccountOptions = {}): Promise<LocalServiceAccount> {
  const projectId = opts.projectId ?? "demo-neurofire";
  const { privateKey, publicKey } = crypto.generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  const credentials: ServiceAccountKey = {
    type: "service_account",
    project_id: projectId,
    private_key_id: crypto.randomBytes(20).toString("hex"),
    private_key: privateKey,
    client_email: opts.clientEmail ?? `storage-signer@${projectId}.iam.gserviceaccount.com`,
    client_id: String(BigInt(`0x${crypto.randomBytes(8).toString("hex")}`)),
    token_uri: "https://oauth2.googleapis.com/token",
  };
  const result: LocalServiceAccount = { credentials, publicKeyPem: publicKey };
  if (opts.path) {
    await mkdir(path.dirname(opts.path), { recursive: true });
    await writeFile(opts.path, JSON.stringify(credentials, null, 2) + "\n", { mode: 0o600 });
    result.path = opts.path;
  }
  return result;
}

/** Reads a key file written earlier (or any service-account key) and derives its public key. */
export async function loadServiceAccount(file: string): Promise<LocalServiceAccount> {
  const credentials = JSON.parse(await readFile(file, "utf8")) as ServiceAccountKey;
  if (credentials.type !== "service_account" || !credentials.private_key || !credentials.client_email) {
    throw new Error(`${file} is not a service-account key file`);
  }
  const publicKeyPem = crypto
    .createPublicKey(credentials.private_key)
    .export({ type: "spki", format: "pem" })
    .toString();
  return { credentials, publicKeyPem, path: file };
}
