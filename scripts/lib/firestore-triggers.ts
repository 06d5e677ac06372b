/**
 * Firestore triggers for the SDK's Firestore emulator JAR. firebase-tools registers a function's
 * Firestore triggers only with a Firestore emulator it runs itself (Java 21+); with the JAR we run
 * (--functions_emulator set, see firestore-emulator.ts) we register them here, under the key the
 * Functions emulator serves them at: `<region>-<function>-<generation>`, the generation being 0
 * on its first load (firebase-tools' functionsEmulator.js, `getTriggerKey`). The JAR then posts
 * each event to `/functions/projects/<project>/triggers/<key>` on the Functions emulator.
 * Registration only stores the key, so it may happen before the Functions emulator is up.
 */
import type { FirestoreEmulator } from "./firestore-emulator.js";

interface FirestoreTrigger {
  key: string;
  eventType: string;
  document: string;
}

/** The functions/src/triggers/ Firestore triggers (jobs.ts: each new job runs). */
export const FIRESTORE_TRIGGERS: FirestoreTrigger[] = [
  {
    key: "us-central1-jobsRun-0",
    eventType: "google.cloud.firestore.document.v1.created",
    document: "neurofire_jobs/{jobId}",
  },
];

export async function registerFirestoreTriggers(emulator: FirestoreEmulator): Promise<void> {
  for (const trigger of FIRESTORE_TRIGGERS) {
    const url =
      `http://${emulator.host}/emulator/v1/projects/${emulator.projectId}/eventarcTrigger` +
      `?eventarcTriggerId=${encodeURIComponent(trigger.key)}`;
    const res = await fetch(url, {
      method: "POST",
      body: JSON.stringify({
        eventType: trigger.eventType,
        database: "(default)",
        namespace: "(default)",
        document: { value: trigger.document, matchType: "PATH_PATTERN" },
      }),
    });
    if (!res.ok) throw new Error(`Registering Firestore trigger ${trigger.key} failed: ${res.status}`);
  }
}
