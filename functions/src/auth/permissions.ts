/**
 * The permission predicates, in one table. Every route asks here; nothing else decides access.
 *
 * clio-store's roles form a ladder on each dataset: clio_read < clio_general < clio_write <
 * dataset_admin. A role on the dataset, the same role held globally, or the dataset being public
 * (which counts as clio_general) gives a level; each predicate needs a minimum level. Global
 * `admin` implies everything. Where clio-store's predicates disagreed with its own docs (admin
 * could not read; clio_write alone failed has_role('clio_general')), this follows the docs.
 */
import type { User } from "../schemas/users.js";
import { scopeOf } from "./scope.js";

const LADDER = ["clio_read", "clio_general", "clio_write", "dataset_admin"] as const;
type LadderRole = (typeof LADDER)[number];

/** The minimum level of each predicate. */
const REQUIRED: Record<Exclude<Permission, "is_admin">, LadderRole> = {
  can_read: "clio_read",
  can_write_own: "clio_general",
  can_write_others: "clio_write",
  is_dataset_admin: "dataset_admin",
};

export type Permission = "can_read" | "can_write_own" | "can_write_others" | "is_dataset_admin" | "is_admin";

export const PUBLIC_LEVEL: LadderRole = "clio_general";

function rank(role: string): number {
  return LADDER.indexOf(role as LadderRole);
}

/** The roles held on one dataset; own keys only, so an id like "constructor" is just a name. */
function rolesOn(user: User, dataset: string): string[] {
  return Object.hasOwn(user.datasets, dataset) ? (user.datasets[dataset] ?? []) : [];
}

export function isAdmin(user: User): boolean {
  return user.global_roles.includes("admin");
}

/** The user's highest ladder rank on a dataset (-1 when none). */
function level(user: User, dataset: string | undefined, isPublic: boolean): number {
  // A key's scope (auth/scope.ts): nothing outside its datasets, nothing above its role.
  const scope = scopeOf(user);
  if (scope) {
    if (dataset === undefined || !scope.datasets.includes(dataset)) return -1;
    return Math.min(ownLevel(user, dataset, isPublic), rank(scope.role));
  }
  return ownLevel(user, dataset, isPublic);
}

/** The user's own rank on a dataset, ignoring any key scope (for clamping a user to a scope). */
export function ownLevel(user: User, dataset: string | undefined, isPublic: boolean): number {
  if (isAdmin(user)) return LADDER.length;
  let best = isPublic ? rank(PUBLIC_LEVEL) : -1;
  // dataset_admin is per dataset only; a global "dataset_admin" would be meaningless.
  for (const role of user.global_roles) if (role !== "dataset_admin") best = Math.max(best, rank(role));
  if (dataset !== undefined) for (const role of rolesOn(user, dataset)) best = Math.max(best, rank(role));
  return best;
}

/** Whether `user` holds `permission` on `dataset` (ignored for is_admin). */
export function allows(user: User, permission: Permission, dataset?: string, isPublic = false): boolean {
  if (user.disabled) return false;
  if (permission === "is_admin") return isAdmin(user);
  return level(user, dataset, isPublic) >= rank(REQUIRED[permission]);
}

/**
 * clio's has_role: ladder roles by level, any other (application-defined) role by membership,
 * globally or on the dataset.
 */
export function hasRole(user: User, role: string, dataset?: string, isPublic = false): boolean {
  if (user.disabled) return false;
  if (isAdmin(user)) return true;
  if (rank(role) >= 0) return level(user, dataset, isPublic) >= rank(role);
  return user.global_roles.includes(role) || (dataset !== undefined && rolesOn(user, dataset).includes(role));
}

// ---------- Data-dependent rules -------------------------------------------------------------
// Routes declare the gate (http/route.ts `allow`); these rules need the record in hand, so the
// services apply them, but they are all listed here, beside the ladder they build on.

/**
 * Dataset fields only global admins may change: they decide where the functions read and write,
 * whom they call with the deployment's credentials, and who may read. A dataset admin can edit
 * the rest of their own dataset, but cannot point it at another dataset's files or send the
 * neuPrint credential to another host. (services/datasets.ts)
 */
export const ADMIN_ONLY_DATASET_FIELDS = [
  "files",
  "neuprintHTTP",
  "location",
  "source",
  "transfer",
  "public",
] as const;

/**
 * Atlas points: writing another user's point, setting `verified`, editing a verified point and
 * toggling verification all need this on the point's dataset. (services/atlas.ts)
 */
export const ATLAS_VERIFY: Permission = "can_write_others";

/** Personal annotations and atlas points: writing one owned by someone else. (services/annotations.ts) */
export function ownerWritePermission(user: User, owner: string): Permission {
  return owner === user.email ? "can_write_own" : "can_write_others";
}

/**
 * Annotation groups: admins may read any group's annotations; others only the groups they are
 * in (the rest are dropped). (services/annotations.ts)
 */
export function readableGroups(user: User, requested: string[]): string[] {
  return isAdmin(user) ? requested : requested.filter((g) => user.groups.includes(g));
}
