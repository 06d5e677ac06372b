/**
 * Harvest runs: drives a source harvester step by step into `catalog_records`, with a run record
 * in `catalog_runs/{runId}` and a lease plus the active run in `catalog_state/{source}`.
 *
 * - Checkpoint after every step (cursor, counts) in a transaction that also renews the lease and
 *   fails if another worker took it over, so a run stopped by its time budget, an abort or a crash
 *   is continued by the next invocation from its last step, redoing at most that one step.
 * - Writes are idempotent: a record is written only when its content hash changed (or it comes
 *   back after being withdrawn), so a rerun rewrites nothing and Firestore's updateTime stays.
 * - Mark-and-sweep: every step stores the ids it saw under the run; only a full run that finished
 *   without losing anything sweeps, marking records it did not see as withdrawn. A partial,
 *   limited, incremental or failed run never withdraws.
 */
import { createHash, randomUUID } from "node:crypto";

import { FieldPath, type DocumentReference, type Firestore } from "firebase-admin/firestore";

import { ApiError, conflict } from "../errors.js";
import { cloudLogger, type Logger } from "../log.js";
import {
  CATALOG_COLLECTIONS,
  catalogContentSchema,
  catalogDocId,
  runRecordSchema,
  sourceStateSchema,
  type CatalogContent,
  type CatalogSource,
  type RunRecord,
  type SourceState,
} from "../schemas/catalog.js";
import { PoliteClient, type FetchLike, type HostPolicy } from "../sources/http.js";
import { createHarvester, HOST_POLICIES, type HarvesterOptions } from "../sources/index.js";
import type { KnownRecord, SourceHarvester, UnreadableRecord } from "../sources/types.js";

export interface HarvestDeps {
  db: Firestore;
  fetch?: FetchLike;
  now?: () => Date;
  log?: Logger;
  /** Replaces the HTTP client built from `fetch` and the source's host policy. */
  http?: PoliteClient;
}

export interface HarvestOptions extends HarvesterOptions {
  /** Stop harvesting after this many records; such a run is partial and withdraws nothing. */
  limit?: number;
  /** Pause (resumable) once this much time has passed in this invocation. */
  timeBudgetMs?: number;
  mode?: "full" | "incremental";
  onProgress?: (run: RunRecord) => void | Promise<void>;
  /** Aborting pauses the run at once; the next invocation continues it. */
  signal?: AbortSignal;
  /** Overrides of the source host's politeness policy (tests shorten delays). */
  hostPolicy?: Partial<HostPolicy>;
  /** How long a worker's lease lasts without a checkpoint renewing it. */
  leaseMs?: number;
  /** Consecutive failed invocations after which the run is given up. */
  maxFailures?: number;
}

const DEFAULT_LEASE_MS = 5 * 60_000;
const DEFAULT_MAX_FAILURES = 3;
const READ_CHUNK = 300;
const SWEEP_PAGE = 500;
const SEEN_DOC_IDS = 2000;
const MAX_RUN_ERRORS = 50;
const MAX_UNREADABLE_LISTED = 200;

const records = (db: Firestore) => db.collection(CATALOG_COLLECTIONS.records);
const runs = (db: Firestore) => db.collection(CATALOG_COLLECTIONS.runs);
const stateRef = (db: Firestore, source: CatalogSource) =>
  db.collection(CATALOG_COLLECTIONS.state).doc(source);
const seenCol = (db: Firestore, runId: string) => runs(db).doc(runId).collection(CATALOG_COLLECTIONS.seen);

/** Canonical JSON (sorted keys) so equal content always hashes equally. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function contentHash(content: CatalogContent): string {
  return createHash("sha256").update(canonical(content)).digest("hex");
}

export interface WriteCounts {
  created: number;
  updated: number;
  unchanged: number;
}

async function getAllChunked(db: Firestore, refs: DocumentReference[], fields: string[]) {
  const snaps = [];
  for (let i = 0; i < refs.length; i += READ_CHUNK) {
    const chunk = refs.slice(i, i + READ_CHUNK);
    if (chunk.length) snaps.push(...(await db.getAll(...chunk, { fieldMask: fields })));
  }
  return snaps;
}

/** Settles every BulkWriter write and rethrows the first failure: no unobserved rejections. */
async function settle(writes: Promise<unknown>[], close: Promise<void>): Promise<void> {
  const results = await Promise.allSettled([...writes, close]);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}

/**
 * The catalog's write path: upserts records by content hash with BulkWriter. Unchanged records
 * are not written at all.
 */
export async function writeRecords(
  db: Firestore,
  contents: CatalogContent[],
  runId: string,
  at: string,
): Promise<WriteCounts> {
  const counts: WriteCounts = { created: 0, updated: 0, unchanged: 0 };
  const byId = new Map(contents.map((c) => [c.id, c]));
  const items = [...byId.values()].map((content) => ({
    content,
    hash: contentHash(content),
    ref: records(db).doc(catalogDocId(content.id)),
  }));
  const snaps = await getAllChunked(
    db,
    items.map((i) => i.ref),
    ["contentHash", "withdrawn"],
  );
  const writer = db.bulkWriter();
  const writes: Promise<unknown>[] = [];
  items.forEach((item, i) => {
    const snap = snaps[i]!;
    if (snap.exists && snap.get("contentHash") === item.hash && snap.get("withdrawn") === false) {
      counts.unchanged++;
      return;
    }
    if (snap.exists) counts.updated++;
    else counts.created++;
    writes.push(
      writer.set(item.ref, {
        ...item.content,
        harvestedAt: at,
        contentHash: item.hash,
        lastSeenRun: runId,
        withdrawn: false,
        withdrawnAt: null,
      }),
    );
  });
  await settle(writes, writer.close());
  return counts;
}

async function knownRecords(db: Firestore, ids: string[]): Promise<Map<string, KnownRecord>> {
  const snaps = await getAllChunked(
    db,
    ids.map((id) => records(db).doc(catalogDocId(id))),
    ["sourceModified", "withdrawn"],
  );
  const out = new Map<string, KnownRecord>();
  snaps.forEach((snap, i) => {
    if (!snap.exists) return;
    out.set(ids[i]!, {
      sourceModified: (snap.get("sourceModified") as string | null) ?? null,
      withdrawn: snap.get("withdrawn") === true,
    });
  });
  return out;
}

function emptyState(source: CatalogSource): SourceState {
  return {
    source,
    activeRunId: null,
    leaseOwner: null,
    leaseExpiresAt: null,
    lastCompleteRunId: null,
    watermark: null,
  };
}

function newRun(
  source: CatalogSource,
  mode: "full" | "incremental",
  limit: number | undefined,
  at: Date,
): RunRecord {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return {
    id: `${source}-${stamp}-${randomUUID().slice(0, 8)}`,
    source,
    mode,
    status: "paused",
    startedAt: at.toISOString(),
    updatedAt: at.toISOString(),
    finishedAt: null,
    invocations: 0,
    limit: limit ?? null,
    counts: { fetched: 0, created: 0, updated: 0, unchanged: 0, withdrawn: 0, errors: 0, unreadable: 0 },
    errors: [],
    unreadable: [],
    progress: { phase: "harvest", step: 0, done: 0, total: null },
    checkpoint: { cursor: null, sweepAfter: null },
    failures: 0,
    exhaustive: true,
    watermark: null,
  };
}

export async function getRun(db: Firestore, runId: string): Promise<RunRecord | null> {
  const snap = await runs(db).doc(runId).get();
  return snap.exists ? runRecordSchema.parse(snap.data()) : null;
}

/** Most recent runs, newest first (needs the composite index source ASC, startedAt DESC). */
export async function listRuns(
  db: Firestore,
  options: { source?: CatalogSource; limit?: number } = {},
): Promise<RunRecord[]> {
  let query = runs(db).orderBy("startedAt", "desc");
  if (options.source) query = query.where("source", "==", options.source);
  const snap = await query.limit(Math.min(options.limit ?? 20, 100)).get();
  return snap.docs.map((d) => runRecordSchema.parse(d.data()));
}

export async function getSourceState(db: Firestore, source: CatalogSource): Promise<SourceState> {
  const snap = await stateRef(db, source).get();
  return snap.exists ? sourceStateSchema.parse(snap.data()) : emptyState(source);
}

/**
 * Creates a run for `source` without working on it (an admin endpoint's "start"), or returns the
 * run already active; `runHarvest` then continues it.
 */
export async function startRun(
  deps: Pick<HarvestDeps, "db" | "now">,
  source: CatalogSource,
  options: { mode?: "full" | "incremental"; limit?: number } = {},
): Promise<RunRecord> {
  const now = deps.now ?? (() => new Date());
  return deps.db.runTransaction(async (tx) => {
    const stateSnap = await tx.get(stateRef(deps.db, source));
    const state = stateSnap.exists ? sourceStateSchema.parse(stateSnap.data()) : emptyState(source);
    if (state.activeRunId) {
      const active = await tx.get(runs(deps.db).doc(state.activeRunId));
      if (active.exists) return runRecordSchema.parse(active.data());
    }
    const run = newRun(source, options.mode ?? "full", options.limit, now());
    tx.set(runs(deps.db).doc(run.id), run);
    tx.set(stateRef(deps.db, source), { ...state, activeRunId: run.id });
    return run;
  });
}

class LeaseLost extends Error {}

/**
 * Works on the active run of `source` (creating one if none) until it finishes, its time budget
 * is spent or it is aborted, and returns the run record. Throws `conflict` while another worker
 * holds a live lease on the run.
 */
export async function runHarvest(
  deps: HarvestDeps,
  source: CatalogSource,
  options: HarvestOptions,
): Promise<RunRecord> {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? cloudLogger;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const worker = randomUUID();
  const started = now().getTime();
  const harvester: SourceHarvester = createHarvester(source, options);
  const host = new URL(options.baseUrl).host;
  const http =
    deps.http ??
    new PoliteClient({
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      hosts: {
        [host]: {
          ...HOST_POLICIES[source],
          ...(options.extraCa?.length ? { extraCa: options.extraCa } : {}),
          ...options.hostPolicy,
        },
      },
      onRetry: (info) => log.warn("harvest: retrying upstream request", { source, ...info }),
    });

  // Acquire (or take over) the run and its lease.
  let { run, state } = await db.runTransaction(async (tx) => {
    const stateSnap = await tx.get(stateRef(db, source));
    const state = stateSnap.exists ? sourceStateSchema.parse(stateSnap.data()) : emptyState(source);
    const at = now();
    let run: RunRecord | undefined;
    if (state.activeRunId) {
      const snap = await tx.get(runs(db).doc(state.activeRunId));
      if (snap.exists) run = runRecordSchema.parse(snap.data());
    }
    if (run && state.leaseOwner && (state.leaseExpiresAt ?? 0) > at.getTime()) {
      throw conflict(`A ${source} harvest (run ${run.id}) is already in progress`);
    }
    run ??= newRun(source, options.mode ?? "full", options.limit, at);
    run = { ...run, status: "running", invocations: run.invocations + 1, updatedAt: at.toISOString() };
    const next: SourceState = {
      ...state,
      activeRunId: run.id,
      leaseOwner: worker,
      leaseExpiresAt: at.getTime() + leaseMs,
    };
    tx.set(runs(db).doc(run.id), run);
    tx.set(stateRef(db, source), next);
    return { run, state: next };
  });
  log.info("harvest: working on run", { source, runId: run.id, invocation: run.invocations });

  /** Persists the run and renews the lease, unless another worker has taken the run over. */
  async function save(updated: RunRecord, finalState?: Partial<SourceState>): Promise<RunRecord> {
    const at = now();
    updated = { ...updated, updatedAt: at.toISOString() };
    const saved = updated;
    await db.runTransaction(async (tx) => {
      const snap = await tx.get(stateRef(db, source));
      const current = snap.exists ? sourceStateSchema.parse(snap.data()) : emptyState(source);
      if (current.leaseOwner !== worker || current.activeRunId !== saved.id) throw new LeaseLost();
      tx.set(runs(db).doc(saved.id), saved);
      state = finalState
        ? { ...current, ...finalState }
        : { ...current, leaseExpiresAt: at.getTime() + leaseMs };
      tx.set(stateRef(db, source), state);
    });
    return saved;
  }

  const release = { leaseOwner: null, leaseExpiresAt: null };
  const pause = async (r: RunRecord) => save({ ...r, status: "paused" }, release);
  const pushError = (r: RunRecord, message: string, url?: string, fatal?: boolean): RunRecord => ({
    ...r,
    counts: { ...r.counts, errors: r.counts.errors + 1 },
    errors: [
      ...r.errors,
      { at: now().toISOString(), message, ...(url ? { url } : {}), ...(fatal ? { fatal } : {}) },
    ].slice(-MAX_RUN_ERRORS),
  });

  let seenIds: Set<string> | undefined;

  try {
    for (;;) {
      if (options.signal?.aborted) return await pause(run);
      if (options.timeBudgetMs !== undefined && now().getTime() - started >= options.timeBudgetMs) {
        log.info("harvest: time budget spent, pausing", { source, runId: run.id });
        return await pause(run);
      }

      if (run.progress.phase === "harvest") {
        let step;
        try {
          step = await harvester.step(
            {
              http,
              ...(options.signal ? { signal: options.signal } : {}),
              known: (ids) => knownRecords(db, ids),
              watermark: state.watermark,
              mode: run.mode,
            },
            run.checkpoint.cursor === null ? null : (JSON.parse(run.checkpoint.cursor) as unknown),
          );
        } catch (err) {
          if (options.signal?.aborted) return await pause(run);
          const failures = run.failures + 1;
          const message = `Step ${run.progress.step} failed: ${(err as Error).message}`;
          log.error("harvest: step failed", { source, runId: run.id, failures, error: message });
          run = pushError({ ...run, failures }, message, undefined, true);
          if (failures >= (options.maxFailures ?? DEFAULT_MAX_FAILURES)) {
            const at = now().toISOString();
            return await save(
              {
                ...run,
                status: "failed",
                exhaustive: false,
                finishedAt: at,
                progress: { ...run.progress, phase: "done" },
              },
              { ...release, activeRunId: null },
            );
          }
          return await pause(run);
        }

        let batch = step.records;
        let seenOnly = step.seen ?? [];
        let next: unknown = step.next;
        let exhaustive = run.exhaustive;
        const room = options.limit === undefined ? Infinity : options.limit - run.progress.done;
        if (batch.length + seenOnly.length >= room) {
          const total = batch.length + seenOnly.length;
          batch = batch.slice(0, Math.max(0, room));
          seenOnly = seenOnly.slice(0, Math.max(0, room - batch.length));
          // A limited run stops here and has not seen everything: it must not withdraw.
          if (next !== null || batch.length + seenOnly.length < total) exhaustive = false;
          next = null;
        }
        const valid: CatalogContent[] = [];
        const invalid: UnreadableRecord[] = [];
        const seen = new Set(seenOnly);
        for (const record of batch) {
          const parsed = catalogContentSchema.safeParse(record);
          seen.add(record.id);
          if (parsed.success) valid.push(parsed.data);
          else invalid.push({ id: record.id, reason: `Record failed validation: ${parsed.error.message}` });
        }
        for (const u of step.unreadable ?? []) if (u.id) seen.add(u.id);
        const at = now().toISOString();
        const counts = await writeRecords(db, valid, run.id, at);
        await writeSeen(db, run.id, run.progress.step, [...seen]);
        for (const problem of step.problems ?? []) {
          run = pushError(run, problem.message, problem.url, true);
          exhaustive = false;
        }
        for (const warning of step.warnings ?? []) run = pushError(run, warning.message, warning.url);
        const unreadable = [...(step.unreadable ?? []), ...invalid];
        // A listed record that could not be read still exists upstream: it is never withdrawn.
        for (const u of unreadable) if (u.id) seen.add(u.id);
        if (unreadable.length) {
          run = {
            ...run,
            counts: { ...run.counts, unreadable: run.counts.unreadable + unreadable.length },
            unreadable: [...run.unreadable, ...unreadable].slice(0, MAX_UNREADABLE_LISTED),
          };
        }
        const watermark =
          step.watermark && (!run.watermark || step.watermark > run.watermark)
            ? step.watermark
            : run.watermark;
        const sweep = next === null && run.mode === "full" && exhaustive;
        run = {
          ...run,
          failures: 0,
          exhaustive,
          watermark,
          counts: {
            ...run.counts,
            fetched: run.counts.fetched + batch.length,
            created: run.counts.created + counts.created,
            updated: run.counts.updated + counts.updated,
            unchanged: run.counts.unchanged + counts.unchanged + seenOnly.length,
          },
          progress: {
            phase: next !== null ? "harvest" : sweep ? "sweep" : "done",
            step: run.progress.step + 1,
            done: run.progress.done + seen.size,
            total: step.total ?? run.progress.total,
          },
          checkpoint: { cursor: next === null ? null : JSON.stringify(next), sweepAfter: null },
        };
        run = await save(run);
      } else if (run.progress.phase === "sweep") {
        seenIds ??= await readSeen(db, run.id);
        const { withdrawn, last } = await sweepPage(db, source, seenIds, run, now().toISOString());
        run = {
          ...run,
          counts: { ...run.counts, withdrawn: run.counts.withdrawn + withdrawn },
          progress: { ...run.progress, phase: last === null ? "done" : "sweep" },
          checkpoint: { ...run.checkpoint, sweepAfter: last },
        };
        run = await save(run);
      } else {
        const at = now().toISOString();
        const status = run.exhaustive ? "complete" : "partial";
        const finished: RunRecord = { ...run, status, finishedAt: at };
        const complete = status === "complete";
        run = await save(finished, {
          ...release,
          activeRunId: null,
          ...(complete ? { lastCompleteRunId: run.id, watermark: run.watermark ?? state.watermark } : {}),
        });
        await deleteSeen(db, run.id);
        log.info("harvest: run finished", { source, runId: run.id, status, counts: run.counts });
        return run;
      }
      await options.onProgress?.(run);
    }
  } catch (err) {
    if (err instanceof LeaseLost) {
      throw new ApiError("conflict", `Run ${run.id} was taken over by another worker`, undefined, {
        cause: err,
      });
    }
    throw err;
  }
}

async function writeSeen(db: Firestore, runId: string, step: number, ids: string[]): Promise<void> {
  const batch = db.batch();
  for (let i = 0, part = 0; i < ids.length || part === 0; i += SEEN_DOC_IDS, part++) {
    const key = `${String(step).padStart(6, "0")}-${part}`;
    batch.set(seenCol(db, runId).doc(key), { step, ids: ids.slice(i, i + SEEN_DOC_IDS) });
  }
  await batch.commit();
}

async function readSeen(db: Firestore, runId: string): Promise<Set<string>> {
  const out = new Set<string>();
  let after: string | undefined;
  for (;;) {
    let query = seenCol(db, runId).orderBy(FieldPath.documentId()).limit(200);
    if (after) query = query.startAfter(after);
    const snap = await query.get();
    for (const doc of snap.docs) for (const id of doc.get("ids") as string[]) out.add(id);
    if (snap.size < 200) return out;
    after = snap.docs[snap.size - 1]!.id;
  }
}

async function deleteSeen(db: Firestore, runId: string): Promise<void> {
  for (;;) {
    const snap = await seenCol(db, runId).limit(400).get();
    if (snap.empty) return;
    const batch = db.batch();
    for (const doc of snap.docs) batch.delete(doc.ref);
    await batch.commit();
  }
}

/** One page of the sweep: current records of the source that the run did not see are withdrawn. */
async function sweepPage(
  db: Firestore,
  source: CatalogSource,
  seen: Set<string>,
  run: RunRecord,
  at: string,
): Promise<{ withdrawn: number; last: string | null }> {
  let query = records(db)
    .where("source", "==", source)
    .where("withdrawn", "==", false)
    .orderBy(FieldPath.documentId())
    .select("id")
    .limit(SWEEP_PAGE);
  if (run.checkpoint.sweepAfter) query = query.startAfter(run.checkpoint.sweepAfter);
  const snap = await query.get();
  const batch = db.batch();
  let withdrawn = 0;
  for (const doc of snap.docs) {
    if (seen.has(doc.get("id") as string)) continue;
    batch.update(doc.ref, { withdrawn: true, withdrawnAt: at, harvestedAt: at, lastSeenRun: run.id });
    withdrawn++;
  }
  if (withdrawn) await batch.commit();
  return { withdrawn, last: snap.size < SWEEP_PAGE ? null : snap.docs[snap.size - 1]!.id };
}

/**
 * Bench hook: writes `count` generated records through the catalog write path (hash check +
 * BulkWriter) and reports how long it took, to compare with raw BulkWriter on the same emulator.
 */
export async function harvestWriteBench(
  db: Firestore,
  count: number,
  options: { source?: CatalogSource; runId?: string; batchSize?: number } = {},
): Promise<{ written: number; ms: number; perSecond: number }> {
  const source = options.source ?? "modeldb";
  const runId = options.runId ?? `bench-${randomUUID().slice(0, 8)}`;
  const batchSize = options.batchSize ?? 500;
  const startedAt = performance.now();
  let written = 0;
  for (let i = 0; i < count; i += batchSize) {
    const batch: CatalogContent[] = [];
    for (let j = i; j < Math.min(count, i + batchSize); j++) batch.push(benchRecord(source, j));
    const counts = await writeRecords(db, batch, runId, new Date().toISOString());
    written += counts.created + counts.updated;
  }
  const ms = performance.now() - startedAt;
  return { written, ms, perSecond: (written / ms) * 1000 };
}

/** A deterministic, realistic-sized record for benches. */
export function benchRecord(source: CatalogSource, n: number): CatalogContent {
  const regions = ["CA1", "CA3", "dentate gyrus", "subiculum", "entorhinal cortex"];
  return {
    id: `${source}:bench-${n}`,
    source,
    sourceId: `bench-${n}`,
    kind: "model",
    name: `Bench model ${n} of a ${regions[n % regions.length]} pyramidal cell`,
    description: `Generated record ${n} for write benchmarks; ${"lorem ipsum ".repeat(20)}`,
    species: [n % 2 ? "rat" : "mouse"],
    brainRegions: ["hippocampus", regions[n % regions.length]!],
    cellTypes: ["pyramidal cell"],
    layers: [],
    markers: [],
    files: [{ url: `https://modeldb.science/download/${n}`, format: "zip", name: `${n}.zip` }],
    links: [{ rel: "page", url: `https://modeldb.science/${n}` }],
    licence: null,
    citations: [{ text: `Author ${n} (2020)` }],
    attributes: { channels: ["I Na,t", "I K"] },
    sourceModified: "2020-01-01T00:00:00",
    sourceVersion: "1",
  };
}
