/**
 * What every handler receives: Firestore, configuration, clock, logger, and the per-instance
 * stores (whose caches live as long as the app). Tests build their own with `createDeps`.
 */
import type { Firestore } from "firebase-admin/firestore";
import { TokenVerifier } from "../auth/tokens.js";
import type { Config } from "../config.js";
import { cloudLogger, type Logger } from "../log.js";
import { DatasetStore } from "../store/datasets.js";
import { firestore } from "../store/firebase.js";
import { TokenStateStore } from "../store/token-state.js";
import { UserStore } from "../store/users.js";
import { createCatalogInstance, type CatalogInstance } from "./catalog/instance.js";

export interface Deps extends CatalogInstance {
  db: Firestore;
  config: Config;
  now: () => Date;
  log: Logger;
  users: UserStore;
  datasets: DatasetStore;
  tokenState: TokenStateStore;
  verifier: TokenVerifier;
}

export interface DepsInput {
  config: Config;
  db?: Firestore;
  now?: () => Date;
  log?: Logger;
}

export function createDeps(input: DepsInput): Deps {
  const { config } = input;
  const db = input.db ?? firestore();
  const now = input.now ?? (() => new Date());
  const ms = () => now().getTime();
  const ttlMs = config.cacheSeconds * 1000;
  const tokenState = new TokenStateStore(db, ttlMs, ms);
  const log = input.log ?? cloudLogger;
  return {
    ...createCatalogInstance({ db, config, now, log }),
    db,
    config,
    now,
    log,
    users: new UserStore(db, config.owner, ttlMs, ms),
    datasets: new DatasetStore(db, ttlMs, ms),
    tokenState,
    verifier: new TokenVerifier(config, tokenState, ms),
  };
}
