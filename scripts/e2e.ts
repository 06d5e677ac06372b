/**
 * `npm run test:e2e`: serves the built functions through firebase-tools' Functions and Hosting
 * emulators (with the Auth emulator), backed by a Firestore emulator and the same loopback
 * services as `npm start` (Cloud Storage, STS, BigQuery, …) started here, and runs the end-to-end
 * mocha suite against them over HTTP. The params are written afresh, so the run never depends on
 * what an earlier `npm start` left in functions/.env.local.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { startFirestoreEmulator } from "./lib/firestore-emulator.js";
import { registerFirestoreTriggers } from "./lib/firestore-triggers.js";
import { EMULATORS, FIREBASE_BIN, firebaseEnv } from "./lib/firebase-emulators.js";
import { ensureLocalSecrets, PORTS, PROJECT_ID, ROOT, writeLocalParams } from "./lib/local-env.js";
import { startLoopbacks } from "./lib/loopbacks.js";

process.env.METADATA_SERVER_DETECTION = "none";
const secrets = ensureLocalSecrets();
const loopbacks = await startLoopbacks(secrets.NEUPRINT_APPLICATION_CREDENTIALS);
writeLocalParams(loopbacks.params);
const firestore = await startFirestoreEmulator({
  projectId: PROJECT_ID,
  rules: path.join(ROOT, "firestore.rules"),
  functionsEmulator: `127.0.0.1:${PORTS.functions}`,
});
await registerFirestoreTriggers(firestore);
let status = 1;
try {
  // Asynchronous, so the loopback servers in this process keep answering while the suite runs.
  const run = spawn(
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
      env: firebaseEnv({
        FIRESTORE_EMULATOR_HOST: firestore.host,
        NEUROFIRE_E2E_FIRESTORE: firestore.host,
        ...loopbacks.env,
      }),
    },
  );
  const [code] = (await once(run, "exit")) as [number | null];
  status = code ?? 1;
} finally {
  await firestore.stop();
  await loopbacks.close();
}
process.exit(status);
