/**
 * `npm run bench`: every benchmark, one after the other, each in its own process (each starts its
 * own Firestore emulator, and firebase-admin binds to the first one it sees). Each prints its
 * figures as ratios against the raw Firestore/Storage operation measured in the same run.
 * `npm run bench -- search files` runs only those.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";

// catalog includes the search engine's 300k-record comparison with FTS5; `search` alone adds the
// engine-level figures (build time, blob size) and is opt-in to keep one run shorter.
const DEFAULT = [
  "foundation",
  "annotations",
  "files",
  "signatures",
  "catalog",
  "coldstart",
  "connectome",
  "security",
  "json-annotations",
  "zarr",
  "live",
  "jobs",
];
// `harvest` alone: the harvest write rate vs raw BulkWriter (catalog reports it too).
// `storage-caps` alone: the count behind USER_STORAGE_CAPS vs a raw document write.
const BENCHES = [...DEFAULT, "search", "harvest", "storage-caps"];
const chosen = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const unknown = chosen.filter((b) => !BENCHES.includes(b));
if (unknown.length > 0) {
  console.error(`unknown bench ${unknown.join(", ")}; choose from ${BENCHES.join(", ")}`);
  process.exit(2);
}

let failed = 0;
for (const name of chosen.length > 0 ? chosen : DEFAULT) {
  console.log(`\n=== ${name} ===`);
  const started = Date.now();
  const run = spawnSync(
    process.execPath,
    ["--expose-gc", "--import", "tsx", path.join(import.meta.dirname, `${name}.ts`)],
    { stdio: "inherit", env: { ...process.env, METADATA_SERVER_DETECTION: "none" } },
  );
  console.log(`(${name}: ${((Date.now() - started) / 1000).toFixed(0)} s, exit ${run.status})`);
  if (run.status !== 0) failed += 1;
}
process.exit(failed > 0 ? 1 : 0);
