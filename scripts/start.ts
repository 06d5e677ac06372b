/**
 * `npm start`: the whole backend locally. Starts the Firestore emulator (firebase-tools' own
 * where Java 21 lets it run, otherwise the Google Cloud SDK's), loads the seed, then runs the
 * Auth, Functions and Hosting emulators and prints where to go. Ctrl-C stops all of it.
 */
import { initializeApp } from "firebase-admin/app";
import { getFirestore } from "firebase-admin/firestore";
import {
  javaMajorVersion,
  startFirestoreEmulator,
  type FirestoreEmulator,
} from "./lib/firestore-emulator.js";
import { registerFirestoreTriggers } from "./lib/firestore-triggers.js";
import { EMULATORS, firebaseEnv, killTree, spawnFirebase, waitForUrl } from "./lib/firebase-emulators.js";
import { ensureLocalSecrets, PORTS, PROJECT_ID, ROOT, writeLocalParams } from "./lib/local-env.js";
import { crawlSeededFiles, startLoopbacks } from "./lib/loopbacks.js";
import { loadSeed } from "./lib/seed.js";
import { Storage } from "@google-cloud/storage";
import { readActivityFolder, writeActivity } from "../functions/src/services/activity/ingest.js";
import { readConnectomeFolder, writeConnectome } from "../functions/src/services/connectome/ingest.js";

const firestoreHost = `127.0.0.1:${PORTS.firestore}`;
const base = `http://127.0.0.1:${PORTS.hosting}`;
process.env.METADATA_SERVER_DETECTION = "none";

const secrets = ensureLocalSecrets();
const loopbacks = await startLoopbacks(secrets.NEUPRINT_APPLICATION_CREDENTIALS);
writeLocalParams(loopbacks.params);

// firebase-tools refuses to run its Firestore emulator below Java 21; the SDK's JAR runs on 11+.
const firebaseRunsFirestore = (javaMajorVersion() ?? 0) >= 21 && process.env.NEUROFIRE_FIRESTORE !== "sdk";
let sdkFirestore: FirestoreEmulator | undefined;
if (!firebaseRunsFirestore) {
  try {
    sdkFirestore = await startFirestoreEmulator({
      projectId: PROJECT_ID,
      port: PORTS.firestore,
      rules: `${ROOT}/firestore.rules`,
      // Firestore triggers (the jobs runner) fire in the Functions emulator.
      functionsEmulator: `127.0.0.1:${PORTS.functions}`,
    });
    await registerFirestoreTriggers(sdkFirestore);
  } catch (err) {
    console.error(`\nCannot start a Firestore emulator: ${(err as Error).message}`);
    console.error("With Java 21 or newer installed, firebase-tools' own Firestore emulator is used instead.");
    process.exit(1);
  }
  console.log(`Firestore emulator (Google Cloud SDK) on ${firestoreHost}`);
}

const firebase = spawnFirebase(
  ["emulators:start", "--only", firebaseRunsFirestore ? `${EMULATORS},firestore` : EMULATORS],
  firebaseEnv({ FIRESTORE_EMULATOR_HOST: firestoreHost, ...loopbacks.env }),
);

let stopping: Promise<never> | undefined;
/** Stops everything this script started, once, however many signals and exits arrive. */
function stop(code: number): Promise<never> {
  stopping ??= (async () => {
    killTree(firebase);
    await new Promise((r) => setTimeout(r, 1500));
    killTree(firebase, "SIGKILL");
    await sdkFirestore?.stop();
    await loopbacks.close();
    process.exit(code);
  })();
  return stopping;
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
firebase.on("exit", (code) => void stop(code ?? 1));

try {
  await waitForUrl(`http://${firestoreHost}/`, 60_000);
  process.env.FIRESTORE_EMULATOR_HOST = firestoreHost;
  const db = getFirestore(initializeApp({ projectId: PROJECT_ID }));
  const seeded = await loadSeed(db);
  // The connectome seed (WormWideWeb-format files) and the synthetic activity fixture.
  await writeConnectome({ db }, await readConnectomeFolder(`${ROOT}/emulator-data/connectome`));
  await writeActivity(
    {
      db,
      storage: new Storage({ apiEndpoint: loopbacks.params.STORAGE_API_ENDPOINT, projectId: PROJECT_ID }),
      bucket: loopbacks.params.ACTIVITY_BUCKET!,
    },
    await readActivityFolder(`${ROOT}/emulator-data/activity`),
  );
  // Deployed, a schedule and storage triggers keep the file catalog current; the emulators run
  // neither, so the seeded bucket is crawled once here.
  const crawled = await crawlSeededFiles(db, loopbacks.params);
  await waitForUrl(`${base}/v2/openapi.json`, 120_000);
  console.log(`
neurofire is running.
  API base URL:   ${base}            (clio clients: ${base}/v2)
  API docs:       ${base}/v2/docs
${loopbacks.lines.map((l) => `  ${l}`).join("\n")}
  Seeded ${seeded} documents and crawled ${crawled} files: admin@, writer@, reader@, dsadmin@, disabled@example.org; datasets private-ds, public-ds.

Get a token and call the API:
  TOKEN=$(npm run -s token -- admin@example.org)
  curl -H "Authorization: Bearer $TOKEN" ${base}/v2/datasets

Ctrl-C stops everything.`);
} catch (err) {
  console.error(`Start-up failed: ${(err as Error).message}`);
  await stop(1);
}
