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
