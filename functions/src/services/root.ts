/**
 * The composition root: one object per instance that owns everything with a lifetime longer than
 * a request. It is built lazily on an instance's first request (params can only be read then), by
 * `http/function.ts`, the triggers and the tests alike, through `createRoot`.
 *
 * It owns Firestore, config, clock and logger, the user, dataset and token stores, and, through
 * `get(provider)`, every other per-instance object: SDK clients, service objects with caches,
 * loaded indexes and replicas. A module declares its object once with `provide`, next to the code
 * that builds it, so this file stays free of heavy imports: a function that never asks for the
 * BigQuery client never loads it. Services take only the narrow part of the root they use.
 */
import type { Firestore } from "firebase-admin/firestore";
import { TokenVerifier } from "../auth/tokens.js";
import type { Config } from "../config.js";
import { cloudLogger, type Logger } from "../log.js";
import { DatasetStore } from "../store/datasets.js";
import { firestore } from "../store/firebase.js";
import { TokenStateStore } from "../store/token-state.js";
import { UserStore } from "../store/users.js";

/** A per-instance object, declared once by the module that builds it. */
export interface Provider<T> {
  readonly name: string;
  make(root: Root): T;
}

export function provide<T>(name: string, make: (root: Root) => T): Provider<T> {
  return { name, make };
}

export interface Root {
  db: Firestore;
  config: Config;
  now: () => Date;
  log: Logger;
  users: UserStore;
  datasets: DatasetStore;
  tokenState: TokenStateStore;
  verifier: TokenVerifier;
  /** The instance's object of `provider`, built on first use and kept for the instance's life. */
  get<T>(provider: Provider<T>): T;
}

export interface RootInput {
  config: Config;
  db?: Firestore;
  now?: () => Date;
  log?: Logger;
}

export function createRoot(input: RootInput): Root {
  const { config } = input;
  const db = input.db ?? firestore();
  const now = input.now ?? (() => new Date());
  const ms = () => now().getTime();
  const ttlMs = config.cacheSeconds * 1000;
  const tokenState = new TokenStateStore(db, ttlMs, ms);
  const built = new Map<Provider<unknown>, unknown>();
  const root: Root = {
    db,
    config,
    now,
    log: input.log ?? cloudLogger,
    users: new UserStore(db, config.owner, ttlMs, ms),
    datasets: new DatasetStore(db, ttlMs, ms),
    tokenState,
    verifier: new TokenVerifier(config, tokenState, ms),
    get<T>(provider: Provider<T>): T {
      if (!built.has(provider)) built.set(provider, provider.make(root));
      return built.get(provider) as T;
    },
  };
  return root;
}

let instanceRoot: Root | undefined;

/**
 * The deployed instance's root, shared by every function and trigger served by this process.
 * `load` reads the params, which is only possible once a request or event has arrived.
 */
export function instance(load: () => Config): Root {
  instanceRoot ??= createRoot({ config: load() });
  return instanceRoot;
}
