/**
 * Loads connectome datasets into Firestore (idempotent: a re-run writes the same documents):
 *
 *   npm run ingest:connectome [-- <folder>]
 *
 * The folder has WormWideWeb's `initial_data` layout (default: emulator-data/connectome, a copy of
 * ../shared/data/connectome); every connectome file is checked against its SHA-256 manifest
 * first, and nothing is written when one does not match. Writes to FIRESTORE_EMULATOR_HOST, else
 * to the emulator `npm start` runs, else to the project of the ambient credentials.
 */
import path from "node:path";
import { readConnectomeFolder, writeConnectome } from "../functions/src/services/connectome/ingest.js";
import { firestore } from "../functions/src/store/firebase.js";
import { PORTS, ROOT } from "./lib/local-env.js";

export const DEFAULT_CONNECTOME_DIR = path.join(ROOT, "emulator-data", "connectome");
const NPM_START_FIRESTORE = `127.0.0.1:${PORTS.firestore}`;

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  const dir = path.resolve(process.argv[2] ?? DEFAULT_CONNECTOME_DIR);
  process.env.METADATA_SERVER_DETECTION ??= "none";
  if (!process.env.FIRESTORE_EMULATOR_HOST && (await answers(`http://${NPM_START_FIRESTORE}/`))) {
    process.env.FIRESTORE_EMULATOR_HOST = NPM_START_FIRESTORE;
    process.env.GCLOUD_PROJECT ??= "demo-neurofire";
    console.log(`Writing to the Firestore emulator of npm start (${NPM_START_FIRESTORE}).`);
  }
  const plan = await readConnectomeFolder(dir);
  for (const [id, cells] of Object.entries(plan.dropped))
    console.log(`${id}: dropped records of cells not in the cell table: ${cells.join(", ")}`);
  const written = await writeConnectome({ db: firestore() }, plan);
  for (const { doc } of plan.datasets)
    console.log(
      `${doc.id}: ${doc.neurons.length} cells, ${doc.synapses} synapses, sha256 ${doc.sha256.slice(0, 16)}…`,
    );
  console.log(`Ingested ${written} connectome datasets and ${plan.cells.cells.length} cells from ${dir}.`);
  return 0;
}

process.exitCode = await main().catch((err: unknown) => {
  console.error(`Ingest failed: ${err instanceof Error ? err.message : String(err)}`);
  return 1;
});
