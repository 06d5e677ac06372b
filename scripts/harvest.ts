/**
 * Runs one catalog harvest locally, with a progress bar:
 *
 *   npx tsx scripts/harvest.ts <neuromorpho|hippocampome|modeldb|dandi> [--limit N] [--base-url URL]
 *                              [--mode full|incremental] [--time-budget-ms MS]
 *
 * Writes to the Firestore emulator at FIRESTORE_EMULATOR_HOST, else to the one `npm start` runs,
 * else it starts an emulator for the duration of the run (its data is then discarded). Without --base-url it harvests from the
 * loopback upstream (functions/loopback/upstream.ts), so it works offline out of the box. With a
 * real --base-url the source's own politeness policy applies (e.g. one NeuroMorpho request/s).
 */
import { parseArgs } from "node:util";

import cliProgress from "cli-progress";

import {
  hippocampomePublishedUrls,
  startUpstreamServer,
  type UpstreamServer,
} from "../functions/loopback/upstream.js";
import { ApiError } from "../functions/src/errors.js";
import { catalogSourceSchema, type RunRecord } from "../functions/src/schemas/catalog.js";
import { runHarvest } from "../functions/src/services/harvest.js";
import { firestore } from "../functions/src/store/firebase.js";
import { startFirestoreEmulator, type FirestoreEmulator } from "./lib/firestore-emulator.js";
import { PORTS } from "./lib/local-env.js";

const NPM_START_FIRESTORE = `127.0.0.1:${PORTS.firestore}`;

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

const USAGE =
  "usage: npx tsx scripts/harvest.ts <neuromorpho|hippocampome|modeldb|dandi> " +
  "[--limit N] [--base-url URL] [--mode full|incremental] [--time-budget-ms MS]";

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      limit: { type: "string" },
      "base-url": { type: "string" },
      mode: { type: "string" },
      "time-budget-ms": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || positionals.length !== 1) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const source = catalogSourceSchema.safeParse(positionals[0]);
  if (!source.success) {
    console.error(`Unknown source "${positionals[0]}".\n${USAGE}`);
    return 2;
  }
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    console.error("--limit must be a positive integer");
    return 2;
  }
  const mode = values.mode;
  if (mode !== undefined && mode !== "full" && mode !== "incremental") {
    console.error("--mode must be full or incremental");
    return 2;
  }

  process.env.METADATA_SERVER_DETECTION ??= "none";
  process.env.GCLOUD_PROJECT ??= "demo-neurofire";
  let emulator: FirestoreEmulator | undefined;
  let upstream: UpstreamServer | undefined;
  const bar = new cliProgress.SingleBar(
    { format: `${source.data} [{bar}] {value}/{total} records | {status}`, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  try {
    if (!process.env.FIRESTORE_EMULATOR_HOST && (await answers(`http://${NPM_START_FIRESTORE}/`))) {
      process.env.FIRESTORE_EMULATOR_HOST = NPM_START_FIRESTORE;
      console.log(`Writing to the Firestore emulator of npm start (${NPM_START_FIRESTORE}).`);
    }
    if (!process.env.FIRESTORE_EMULATOR_HOST) {
      emulator = await startFirestoreEmulator({ projectId: process.env.GCLOUD_PROJECT });
      process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
      console.log(
        `Started a Firestore emulator on ${emulator.host} (its data goes away when this script ends).`,
      );
    }
    let baseUrl = values["base-url"];
    if (!baseUrl) {
      upstream = await startUpstreamServer();
      baseUrl = upstream.url;
      console.log(`Harvesting from the loopback upstream at ${baseUrl}`);
    }

    bar.start(limit ?? 0, 0, { status: "starting" });
    const show = (run: RunRecord) => {
      const total = Math.min(run.progress.total ?? run.progress.done, limit ?? Infinity);
      bar.setTotal(Math.max(total, run.progress.done));
      bar.update(run.progress.done, { status: `${run.progress.phase}, ${run.counts.errors} errors` });
    };
    const run = await runHarvest(
      { db: firestore(), log: { info: () => {}, warn: () => {}, error: () => {} } },
      source.data,
      {
        baseUrl,
        ...(limit !== undefined ? { limit } : {}),
        ...(mode ? { mode } : {}),
        ...(values["time-budget-ms"] ? { timeBudgetMs: Number(values["time-budget-ms"]) } : {}),
        // The loopback server needs no spacing between requests, and serves Hippocampome's
        // published tables (GitHub in production) at their own paths.
        ...(upstream
          ? {
              hostPolicy: { minIntervalMs: 0, concurrency: 4 },
              ...hippocampomePublishedUrls(baseUrl),
            }
          : {}),
        onProgress: show,
      },
    );
    show(run);
    bar.stop();
    console.log(`Run ${run.id}: ${run.status}`);
    const { fetched, created, updated, unchanged, unreadable, withdrawn, errors } = run.counts;
    console.log(
      `fetched ${fetched}, written ${created + updated} (${created} new, ${updated} changed), ` +
        `unchanged ${unchanged}, unreadable ${unreadable}, withdrawn ${withdrawn}, errors ${errors}`,
    );
    for (const u of run.unreadable.slice(0, 10)) console.log(`  unreadable ${u.id ?? ""}: ${u.reason}`);
    for (const e of run.errors.slice(-5)) console.log(`  error: ${e.message}`);
    if (run.status === "paused") console.log("Paused: run the same command again to continue this run.");
    return run.status === "failed" ? 1 : 0;
  } catch (err) {
    bar.stop();
    if (err instanceof ApiError && err.code === "conflict") {
      console.error(err.message);
      return 1;
    }
    throw err;
  } finally {
    await upstream?.close();
    await emulator?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
