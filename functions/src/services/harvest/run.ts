/**
 * Harvest runs: drives a source harvester step by step into `catalog_records`, with a run record
 * in `catalog_runs/{runId}` and a lease plus the active run in `catalog_state/{source}`.
 *
 * The run is a state machine of named steps: `acquire` (take or create the run and its lease),
 * then `harvestStep` while the phase is `harvest`, `sweepStep` while it is `sweep`, and `finish`.
 * Each step ends in a checkpoint (`save`: cursor, counts) in a transaction that also renews the
 * lease and fails if another worker took it over, so a run stopped by its time budget, an abort or
 * a crash is continued by the next invocation from its last step, redoing at most that one step.
 * A listing failure makes a run partial; a record that cannot be read is counted and reported
 * (`unreadable`) and never does. A partial, limited, incremental or failed run never withdraws.
 */
import { randomUUID } from "node:crypto";

import type { Firestore } from "firebase-admin/firestore";

import { ApiError, conflict } from "../../errors.js";
import { cloudLogger, type Logger } from "../../log.js";
import {
  CATALOG_COLLECTIONS,
  catalogContentSchema,
  runRecordSchema,
  sourceStateSchema,
  type CatalogContent,
  type CatalogSource,
  type RunRecord,
  type SourceState,
} from "../../schemas/catalog.js";
import { PoliteClient, type FetchLike, type HostPolicy } from "../../sources/http.js";
import { createHarvester, HOST_POLICIES, type HarvesterOptions } from "../../sources/registry.js";
import type { SourceHarvester, StepResult, UnreadableRecord } from "../../sources/types.js";
import { deleteSeen, readSeen, sweepPage, writeSeen } from "./sweep.js";
import { knownRecords, writeRecords } from "./write.js";

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
  /** Sent with every request; default `USER_AGENT` (control adds HARVEST_CONTACT). */
  userAgent?: string;
  /** How long a worker's lease lasts without a checkpoint renewing it. */
  leaseMs?: number;
  /** Consecutive failed invocations after which the run is given up. */
  maxFailures?: number;
}

const DEFAULT_LEASE_MS = 5 * 60_000;
const DEFAULT_MAX_FAILURES = 3;
const MAX_RUN_ERRORS = 50;
const MAX_UNREADABLE_LISTED = 200;

const runs = (db: Firestore) => db.collection(CATALOG_COLLECTIONS.runs);
const stateRef = (db: Firestore, source: CatalogSource) =>
  db.collection(CATALOG_COLLECTIONS.state).doc(source);

export function emptyState(source: CatalogSource): SourceState {
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

/** Everything one invocation's steps share. */
interface RunContext {
  db: Firestore;
  source: CatalogSource;
  options: HarvestOptions;
  now: () => Date;
  log: Logger;
  harvester: SourceHarvester;
  http: PoliteClient;
  worker: string;
  leaseMs: number;
  /** The source state as of the last checkpoint (its watermark feeds incremental listing). */
  state: SourceState;
  /** Ids seen by the run, loaded once when the sweep starts. */
  seenIds?: Set<string>;
}

/** The hosts of every URL a source's options name (its base URL, published tables, …). */
function optionHosts(options: HarvestOptions): Set<string> {
  const hosts = new Set<string>();
  for (const value of Object.values(options)) {
    if (typeof value !== "string" || !URL.canParse(value)) continue;
    const url = new URL(value);
    if (url.protocol === "https:" || url.protocol === "http:") hosts.add(url.host);
  }
  return hosts;
}

function httpClient(deps: HarvestDeps, source: CatalogSource, options: HarvestOptions, log: Logger) {
  if (deps.http) return deps.http;
  const base = new URL(options.baseUrl);
  const host = base.host;
  // Review L8: a redirect may only lead to a host this source's params name, and never down
  // from https, so an upstream (or whoever answers for it) cannot aim the harvester elsewhere.
  const allowed = optionHosts(options);
  return new PoliteClient({
    redirectAllowed: (url) =>
      allowed.has(url.host) && (url.protocol === "https:" || url.protocol === base.protocol),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(options.userAgent ? { userAgent: options.userAgent } : {}),
    hosts: {
      [host]: {
        ...HOST_POLICIES[source],
        ...(options.extraCa?.length ? { extraCa: options.extraCa } : {}),
        ...options.hostPolicy,
      },
    },
    onRetry: (info) => log.warn("harvest: retrying upstream request", { source, ...info }),
  });
}

/** Step 0: take the active run (or create one) and its lease; `conflict` while another holds it. */
async function acquire(ctx: RunContext): Promise<RunRecord> {
  const { db, source, options, now } = ctx;
  const { run, state } = await db.runTransaction(async (tx) => {
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
      leaseOwner: ctx.worker,
      leaseExpiresAt: at.getTime() + ctx.leaseMs,
    };
    tx.set(runs(db).doc(run.id), run);
    tx.set(stateRef(db, source), next);
    return { run, state: next };
  });
  ctx.state = state;
  return run;
}

/** The checkpoint: persists the run and renews the lease, unless another worker took the run over. */
async function save(ctx: RunContext, updated: RunRecord, finalState?: Partial<SourceState>) {
  const { db, source } = ctx;
  const at = ctx.now();
  const saved = { ...updated, updatedAt: at.toISOString() };
  await db.runTransaction(async (tx) => {
    const snap = await tx.get(stateRef(db, source));
    const current = snap.exists ? sourceStateSchema.parse(snap.data()) : emptyState(source);
    if (current.leaseOwner !== ctx.worker || current.activeRunId !== saved.id) throw new LeaseLost();
    tx.set(runs(db).doc(saved.id), saved);
    ctx.state = finalState
      ? { ...current, ...finalState }
      : { ...current, leaseExpiresAt: at.getTime() + ctx.leaseMs };
    tx.set(stateRef(db, source), ctx.state);
  });
  return saved;
}

const RELEASE = { leaseOwner: null, leaseExpiresAt: null };

function pause(ctx: RunContext, run: RunRecord) {
  return save(ctx, { ...run, status: "paused" }, RELEASE);
}

function pushError(ctx: RunContext, r: RunRecord, message: string, url?: string, fatal?: boolean): RunRecord {
  return {
    ...r,
    counts: { ...r.counts, errors: r.counts.errors + 1 },
    errors: [
      ...r.errors,
      { at: ctx.now().toISOString(), message, ...(url ? { url } : {}), ...(fatal ? { fatal } : {}) },
    ].slice(-MAX_RUN_ERRORS),
  };
}

/** A step that threw: counted; the run pauses for the next invocation, or fails at the cap. */
async function stepFailed(ctx: RunContext, run: RunRecord, err: unknown): Promise<RunRecord> {
  const failures = run.failures + 1;
  const message = `Step ${run.progress.step} failed: ${(err as Error).message}`;
  ctx.log.error("harvest: step failed", { source: ctx.source, runId: run.id, failures, error: message });
  run = pushError(ctx, { ...run, failures }, message, undefined, true);
  if (failures < (ctx.options.maxFailures ?? DEFAULT_MAX_FAILURES)) return pause(ctx, run);
  return save(
    ctx,
    {
      ...run,
      status: "failed",
      exhaustive: false,
      finishedAt: ctx.now().toISOString(),
      progress: { ...run.progress, phase: "done" },
    },
    { ...RELEASE, activeRunId: null },
  );
}

/** Cuts a step's output to the run's limit; a cut run has not seen everything. */
function applyLimit(run: RunRecord, limit: number | undefined, step: StepResult) {
  let batch = step.records;
  let seenOnly = step.seen ?? [];
  let next: unknown = step.next;
  let exhaustive = run.exhaustive;
  const room = limit === undefined ? Infinity : limit - run.progress.done;
  if (batch.length + seenOnly.length >= room) {
    const total = batch.length + seenOnly.length;
    batch = batch.slice(0, Math.max(0, room));
    seenOnly = seenOnly.slice(0, Math.max(0, room - batch.length));
    if (next !== null || batch.length + seenOnly.length < total) exhaustive = false;
    next = null;
  }
  return { batch, seenOnly, next, exhaustive };
}

/**
 * Phase `harvest`: one harvester step, its records validated and written, the ids it saw stored,
 * its problems (listing lost data → partial), warnings and unreadable records accounted for.
 * Returns null when the step failed and the run was paused or failed (already saved).
 */
async function harvestStep(ctx: RunContext, run: RunRecord): Promise<RunRecord | { stop: RunRecord }> {
  const { db, options } = ctx;
  let step: StepResult;
  try {
    step = await ctx.harvester.step(
      {
        http: ctx.http,
        ...(options.signal ? { signal: options.signal } : {}),
        known: (ids) => knownRecords(db, ids),
        watermark: ctx.state.watermark,
        mode: run.mode,
      },
      run.checkpoint.cursor === null ? null : (JSON.parse(run.checkpoint.cursor) as unknown),
    );
  } catch (err) {
    if (options.signal?.aborted) return { stop: await pause(ctx, run) };
    return { stop: await stepFailed(ctx, run, err) };
  }

  const { batch, seenOnly, next, exhaustive: stillExhaustive } = applyLimit(run, options.limit, step);
  let exhaustive = stillExhaustive;
  const valid: CatalogContent[] = [];
  const unreadable: UnreadableRecord[] = [...(step.unreadable ?? [])];
  const seen = new Set(seenOnly);
  for (const record of batch) {
    const parsed = catalogContentSchema.safeParse(record);
    seen.add(record.id);
    if (parsed.success) valid.push(parsed.data);
    else unreadable.push({ id: record.id, reason: `Record failed validation: ${parsed.error.message}` });
  }
  // A listed record that could not be read still exists upstream: it is never withdrawn.
  for (const u of unreadable) if (u.id) seen.add(u.id);
  const counts = await writeRecords(db, valid, run.id, ctx.now().toISOString());
  await writeSeen(db, run.id, run.progress.step, [...seen]);
  for (const problem of step.problems ?? []) {
    run = pushError(ctx, run, problem.message, problem.url, true);
    exhaustive = false;
  }
  for (const warning of step.warnings ?? []) run = pushError(ctx, run, warning.message, warning.url);
  const watermark =
    step.watermark && (!run.watermark || step.watermark > run.watermark) ? step.watermark : run.watermark;
  const sweep = next === null && run.mode === "full" && exhaustive;
  return save(ctx, {
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
      unreadable: run.counts.unreadable + unreadable.length,
    },
    unreadable: [...run.unreadable, ...unreadable].slice(0, MAX_UNREADABLE_LISTED),
    progress: {
      phase: next !== null ? "harvest" : sweep ? "sweep" : "done",
      step: run.progress.step + 1,
      done: run.progress.done + seen.size,
      total: step.total ?? run.progress.total,
    },
    checkpoint: { cursor: next === null ? null : JSON.stringify(next), sweepAfter: null },
  });
}

/** Phase `sweep`: one page of the source's current records; those the run did not see are withdrawn. */
async function sweepStep(ctx: RunContext, run: RunRecord): Promise<RunRecord> {
  ctx.seenIds ??= await readSeen(ctx.db, run.id);
  const { withdrawn, last } = await sweepPage(ctx.db, ctx.source, ctx.seenIds, run, ctx.now().toISOString());
  return save(ctx, {
    ...run,
    counts: { ...run.counts, withdrawn: run.counts.withdrawn + withdrawn },
    progress: { ...run.progress, phase: last === null ? "done" : "sweep" },
    checkpoint: { ...run.checkpoint, sweepAfter: last },
  });
}

/** Phase `done`: complete (the watermark advances) or partial; the run is no longer active. */
async function finish(ctx: RunContext, run: RunRecord): Promise<RunRecord> {
  const status = run.exhaustive ? "complete" : "partial";
  const complete = status === "complete";
  const finished = await save(
    ctx,
    { ...run, status, finishedAt: ctx.now().toISOString() },
    {
      ...RELEASE,
      activeRunId: null,
      ...(complete ? { lastCompleteRunId: run.id, watermark: run.watermark ?? ctx.state.watermark } : {}),
    },
  );
  await deleteSeen(ctx.db, run.id);
  ctx.log.info("harvest: run finished", {
    source: ctx.source,
    runId: run.id,
    status,
    counts: finished.counts,
  });
  return finished;
}

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
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? cloudLogger;
  const ctx: RunContext = {
    db: deps.db,
    source,
    options,
    now,
    log,
    harvester: createHarvester(source, options),
    http: httpClient(deps, source, options, log),
    worker: randomUUID(),
    leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
    state: emptyState(source),
  };
  const started = now().getTime();
  let run = await acquire(ctx);
  log.info("harvest: working on run", { source, runId: run.id, invocation: run.invocations });
  try {
    for (;;) {
      if (options.signal?.aborted) return await pause(ctx, run);
      if (options.timeBudgetMs !== undefined && now().getTime() - started >= options.timeBudgetMs) {
        log.info("harvest: time budget spent, pausing", { source, runId: run.id });
        return await pause(ctx, run);
      }
      if (run.progress.phase === "harvest") {
        const result = await harvestStep(ctx, run);
        if ("stop" in result) return result.stop;
        run = result;
      } else if (run.progress.phase === "sweep") {
        run = await sweepStep(ctx, run);
      } else {
        return await finish(ctx, run);
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
