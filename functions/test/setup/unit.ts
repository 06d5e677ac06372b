/**
 * Mocha root hooks for `npm run test:unit`: tests that need no Firestore emulator (pure code, and
 * the loopback servers that the real client libraries talk to). No emulator is started, so a unit
 * test that reaches Firestore fails instead of quietly paying for a JVM; such a test belongs in
 * the emulator layer (`*.test.ts` without `.unit`).
 */
import { TEST_PROJECT_ID } from "./project.js";

// Google libraries probe the metadata server when offline; nothing here runs on GCP.
process.env.METADATA_SERVER_DETECTION = "none";
process.env.GCLOUD_PROJECT = TEST_PROJECT_ID;
delete process.env.FIRESTORE_EMULATOR_HOST;

export const mochaHooks = {};
