/**
 * firebase-admin, initialised once and lazily: importing this module does no I/O, so function
 * discovery at deploy time stays fast and tests decide when the app exists.
 */
import { getApps, initializeApp, type App } from "firebase-admin/app";
import { getAuth, type Auth } from "firebase-admin/auth";
import { getFirestore, type Firestore } from "firebase-admin/firestore";

let app: App | undefined;

export function adminApp(): App {
  app ??= getApps()[0] ?? initializeApp();
  return app;
}

export function firestore(): Firestore {
  return getFirestore(adminApp());
}

export function firebaseAuth(): Auth {
  return getAuth(adminApp());
}

const AUTH_EMULATOR_APP = "neurofire-auth-emulator";

/**
 * The Auth that signs custom tokens. firebase-admin picks an Auth's signer once, when it is built:
 * IAM signBlob, or unsigned tokens when FIREBASE_AUTH_EMULATOR_HOST is set. So that the choice
 * follows the environment of the call (as every other emulator switch does), the emulator's Auth
 * lives in an app of its own.
 */
export function tokenSigningAuth(): Auth {
  if (!process.env.FIREBASE_AUTH_EMULATOR_HOST) return firebaseAuth();
  const app =
    getApps().find((a) => a.name === AUTH_EMULATOR_APP) ??
    initializeApp(adminApp().options, AUTH_EMULATOR_APP);
  return getAuth(app);
}
