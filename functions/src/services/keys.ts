/**
 * Minting, listing and revoking API keys and viewer tokens. A key never carries more than its
 * owner holds when it is minted (checked here) or when it is used (the scope clamps the owner's
 * current roles, auth/scope.ts), so losing a role also narrows every key.
 */
import { newKey } from "../auth/keys.js";
import { allows, isAdmin, ownLevel } from "../auth/permissions.js";
import { scopeRank, type ScopeRole } from "../auth/scope.js";
import type { Principal } from "../auth/tokens.js";
import { ApiError, forbidden, notFound } from "../errors.js";
import type { User } from "../schemas/users.js";
import { MAX_KEYS_PER_USER, type KeyDoc, type KeyStore } from "../store/keys.js";

export const DEFAULT_KEY_DAYS = 90;
export const MAX_KEY_DAYS = 365;
export const MAX_VIEWER_SECONDS = 3600;

export interface KeyDeps {
  keys: KeyStore;
  now(): Date;
  isPublic(dataset: string): Promise<boolean>;
}

export interface KeyView {
  id: string;
  kind: "key" | "viewer";
  name: string;
  datasets: string[];
  role: ScopeRole;
  created: string;
  expires: string;
  lastUsed: string | null;
  revoked: string | null;
}

function view(id: string, doc: KeyDoc): KeyView {
  return {
    id,
    kind: doc.kind,
    name: doc.name,
    datasets: doc.scope.datasets,
    role: doc.scope.role,
    created: doc.created.toISOString(),
    expires: doc.expires.toISOString(),
    lastUsed: doc.lastUsed?.toISOString() ?? null,
    revoked: doc.revoked?.toISOString() ?? null,
  };
}

/** Keys are minted only with a sign-in credential, never with another key. */
function requireSignIn(principal: Principal | undefined): void {
  if (!principal || principal.kind === "key" || principal.kind === "viewer")
    throw forbidden("API keys and viewer tokens cannot mint or revoke keys; use your sign-in token");
}

async function requireOwnRole(deps: KeyDeps, user: User, datasets: string[], role: ScopeRole) {
  for (const dataset of datasets) {
    if (ownLevel(user, dataset, await deps.isPublic(dataset)) < scopeRank(role))
      throw forbidden(
        `${user.email} cannot mint a ${role} key for dataset ${dataset}: that is above their own role`,
      );
  }
}

async function mint(
  deps: KeyDeps,
  user: User,
  kind: "key" | "viewer",
  name: string,
  datasets: string[],
  role: ScopeRole,
  lifetimeMs: number,
): Promise<KeyView & { key: string }> {
  if ((await deps.keys.count(user.email)) >= MAX_KEYS_PER_USER)
    throw new ApiError(
      "resource_exhausted",
      `At most ${MAX_KEYS_PER_USER} keys per user; revoke unused ones`,
    );
  const { id, token, hash } = newKey(kind);
  const created = deps.now();
  const doc = {
    owner: user.email,
    kind,
    name,
    hash,
    scope: { datasets, role },
    created,
    expires: new Date(created.getTime() + lifetimeMs),
  };
  await deps.keys.create(id, doc);
  return { ...view(id, { ...doc, revoked: null, lastUsed: null }), key: token };
}

export async function mintKey(
  deps: KeyDeps,
  user: User,
  principal: Principal | undefined,
  input: { name: string; datasets: string[]; role: ScopeRole; expiresInDays?: number | undefined },
): Promise<KeyView & { key: string }> {
  requireSignIn(principal);
  const datasets = [...new Set(input.datasets)].sort();
  await requireOwnRole(deps, user, datasets, input.role);
  const days = input.expiresInDays ?? DEFAULT_KEY_DAYS;
  return mint(deps, user, "key", input.name, datasets, input.role, days * 86_400_000);
}

export async function mintViewerToken(
  deps: KeyDeps,
  user: User,
  principal: Principal | undefined,
  input: { dataset: string; expiresInSeconds?: number | undefined },
): Promise<KeyView & { key: string }> {
  requireSignIn(principal);
  if (!allows(user, "can_read", input.dataset, await deps.isPublic(input.dataset)))
    throw forbidden(`${user.email} cannot read dataset ${input.dataset}`);
  const seconds = input.expiresInSeconds ?? MAX_VIEWER_SECONDS;
  return mint(deps, user, "viewer", `viewer:${input.dataset}`, [input.dataset], "clio_read", seconds * 1000);
}

export async function listKeys(deps: KeyDeps, user: User): Promise<KeyView[]> {
  return (await deps.keys.list(user.email)).map(({ id, doc }) => view(id, doc));
}

/** Revokes a key of the caller (admins: anyone's); returns it before and after. */
export async function revokeKey(
  deps: KeyDeps,
  user: User,
  principal: Principal | undefined,
  id: string,
): Promise<{ before: KeyView; after: KeyView }> {
  requireSignIn(principal);
  const current = await deps.keys.get(id);
  // Someone else's key answers as missing, so key ids cannot be probed.
  if (!current || (current.owner !== user.email && !isAdmin(user))) throw notFound(`No key ${id}`);
  const at = deps.now();
  const before = await deps.keys.revoke(id, at);
  if (!before) throw notFound(`No key ${id}`);
  return { before: view(id, before), after: view(id, { ...before, revoked: before.revoked ?? at }) };
}
