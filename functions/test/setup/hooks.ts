/**
 * Mocha root hooks: one real Firestore emulator per test run, on a free loopback port, so that
 * several runs (and developers) never collide. Test files clear it with `clearFirestore()`.
 */
import { startFirestoreEmulator, type FirestoreEmulator } from "../../../scripts/lib/firestore-emulator.js";

export const TEST_PROJECT_ID = "demo-neurofire";

let emulator: FirestoreEmulator | undefined;

// Google libraries probe the metadata server when offline; nothing here runs on GCP.
process.env.METADATA_SERVER_DETECTION = "none";
process.env.GCLOUD_PROJECT = TEST_PROJECT_ID;

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    emulator = await startFirestoreEmulator({ projectId: TEST_PROJECT_ID });
    process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
  },
  async afterAll() {
    await emulator?.stop();
  },
};

/** Deletes every document in the test project's database. */
export async function clearFirestore(): Promise<void> {
  if (!emulator) throw new Error("The Firestore emulator is not running (mocha root hook missing?)");
  await emulator.clear();
}
