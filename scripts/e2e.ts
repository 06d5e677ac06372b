/**
 * `npm run test:e2e`: serves the built functions through firebase-tools' Functions and Hosting
 * emulators (with the Auth emulator), backed by a Firestore emulator started here, and runs the
 * end-to-end mocha suite against them over HTTP.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { startFirestoreEmulator } from "./lib/firestore-emulator.js";
import { registerFirestoreTriggers } from "./lib/firestore-triggers.js";
import { EMULATORS, FIREBASE_BIN, firebaseEnv } from "./lib/firebase-emulators.js";
import { ensureLocalSecret, PORTS, PROJECT_ID, ROOT } from "./lib/local-env.js";

ensureLocalSecret();
const firestore = await startFirestoreEmulator({
  projectId: PROJECT_ID,
  rules: path.join(ROOT, "firestore.rules"),
  functionsEmulator: `127.0.0.1:${PORTS.functions}`,
});
await registerFirestoreTriggers(firestore);
let status = 1;
try {
  const run = spawnSync(
    FIREBASE_BIN,
    [
      "emulators:exec",
      "--only",
      EMULATORS,
      "--project",
      PROJECT_ID,
      "npx mocha 'functions/test/e2e/**/*.e2e.ts'",
    ],
    {
      cwd: ROOT,
      stdio: "inherit",
      env: firebaseEnv({ FIRESTORE_EMULATOR_HOST: firestore.host, NEUROFIRE_E2E_FIRESTORE: firestore.host }),
    },
  );
  status = run.status ?? 1;
} finally {
  await firestore.stop();
}
process.exit(status);
