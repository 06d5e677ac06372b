/**
 * Shared by the live tests: custom tokens signed as under the Auth emulator, Firebase client-SDK
 * sessions (as a browser's) against the test emulator with our rules, and the outcome of a read.
 */
import { decodeJwt } from "jose";
import { deleteApp, initializeApp, type FirebaseApp } from "firebase/app";
import { connectFirestoreEmulator, getFirestore, type Firestore } from "firebase/firestore";
import type { LiveClaims } from "../../src/services/live.js";
import { TEST_PROJECT_ID } from "../setup/hooks.js";

/**
 * Custom tokens as under the Auth emulator (unsigned), as `npm start` and e2e mint them (deployed,
 * IAM signBlob signs them): registers mocha hooks that set FIREBASE_AUTH_EMULATOR_HOST for the
 * suite. No Auth emulator is needed: signing one is local, and sessions reach the Firestore
 * emulator as `mockUserToken` claims.
 */
export function useEmulatorSigner(): void {
  let saved: string | undefined;
  before(() => {
    saved = process.env.FIREBASE_AUTH_EMULATOR_HOST;
    process.env.FIREBASE_AUTH_EMULATOR_HOST = saved ?? "127.0.0.1:9099";
  });
  after(() => {
    if (saved === undefined) delete process.env.FIREBASE_AUTH_EMULATOR_HOST;
  });
}

export interface Minted {
  uid: string;
  claims: LiveClaims;
}

/** The uid and developer claims of a custom token (what the ID token after sign-in carries). */
export function decodeCustomToken(token: string): Minted {
  const payload = decodeJwt(token) as { uid: string; claims: LiveClaims };
  return { uid: payload.uid, claims: payload.claims };
}

export interface ClientSession {
  db: Firestore;
  close(): Promise<void>;
}

let apps = 0;

/**
 * A client-SDK session as a signed-in browser has one: the emulator takes the ID token's claims
 * as `mockUserToken` (what signInWithCustomToken would yield); undefined is a signed-out page.
 */
export function clientSession(token?: { uid: string; claims: object }): ClientSession {
  const app: FirebaseApp = initializeApp({ projectId: TEST_PROJECT_ID, apiKey: "local" }, `live-${++apps}`);
  const db = getFirestore(app);
  const [host, port] = (process.env.FIRESTORE_EMULATOR_HOST ?? "").split(":");
  connectFirestoreEmulator(
    db,
    host!,
    Number(port),
    token ? { mockUserToken: { sub: token.uid, ...token.claims } } : {},
  );
  return { db, close: () => deleteApp(app) };
}

/** "allowed" or "denied" (the rules' permission-denied); anything else is a failure. */
export async function outcome(read: () => Promise<unknown>): Promise<"allowed" | "denied"> {
  try {
    await read();
    return "allowed";
  } catch (err) {
    if ((err as { code?: unknown }).code === "permission-denied") return "denied";
    throw err;
  }
}
