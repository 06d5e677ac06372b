/**
 * Mocha root hooks: one real Firestore emulator per test run, on a free loopback port, so that
 * several runs (and developers) never collide. Test files clear it with `clearFirestore()`.
 * Under `npm run test:e2e` the runner has already started one and says so with
 * NEUROFIRE_E2E_FIRESTORE, because the Functions emulator must share it.
 */
import { fileURLToPath } from "node:url";
import { startFirestoreEmulator, type FirestoreEmulator } from "../../../scripts/lib/firestore-emulator.js";
import { TEST_PROJECT_ID } from "./project.js";

export { TEST_PROJECT_ID };

let emulator: FirestoreEmulator | undefined;

/** The repo's security rules: client-SDK tests (functions/test/live) are checked against them. */
export const RULES_FILE = fileURLToPath(new URL("../../../firestore.rules", import.meta.url));

// Google libraries probe the metadata server when offline; nothing here runs on GCP.
process.env.METADATA_SERVER_DETECTION = "none";
process.env.GCLOUD_PROJECT = TEST_PROJECT_ID;

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    const external = process.env.NEUROFIRE_E2E_FIRESTORE;
    if (external) {
      process.env.FIRESTORE_EMULATOR_HOST = external;
      return;
    }
    emulator = await startFirestoreEmulator({ projectId: TEST_PROJECT_ID, rules: RULES_FILE });
    process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
  },
  async afterAll() {
    await emulator?.stop();
  },
};

/** Deletes every document in the test project's database. */
export async function clearFirestore(): Promise<void> {
  const host = process.env.FIRESTORE_EMULATOR_HOST;
  if (!host) throw new Error("The Firestore emulator is not running (mocha root hook missing?)");
  const res = await fetch(
    `http://${host}/emulator/v1/projects/${TEST_PROJECT_ID}/databases/(default)/documents`,
    {
      method: "DELETE",
    },
  );
  if (!res.ok) throw new Error(`Clearing the Firestore emulator failed: ${res.status}`);
}
