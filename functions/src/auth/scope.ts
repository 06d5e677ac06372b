/**
 * The scope of an API key or viewer token: the datasets it reaches and the highest ladder role it
 * carries there. A scoped caller is the owner's User clamped to that scope, so every permission
 * check (auth/permissions.ts) honours it without per-route code: roles on other datasets and
 * global roles are gone, the public level does not reach datasets outside the scope, and every
 * level is capped at the scope's role.
 */
import { z } from "zod";
import type { User } from "../schemas/users.js";

export const SCOPE_ROLES = ["clio_read", "clio_general", "clio_write", "dataset_admin"] as const;
export type ScopeRole = (typeof SCOPE_ROLES)[number];

export const scopeSchema = z.object({
  datasets: z.array(z.string()).min(1),
  role: z.enum(SCOPE_ROLES),
});
export type Scope = z.infer<typeof scopeSchema>;

/**
 * A symbol key: it survives `{...user}` copies but never appears in JSON, so responses that echo
 * the user (GET /v2/roles) are unchanged in shape.
 */
const SCOPE = Symbol("neurofire.scope");

type Scoped = User & { [SCOPE]?: Scope };

export function scopeOf(user: User): Scope | undefined {
  return (user as Scoped)[SCOPE];
}

export function scopeRank(role: string): number {
  return SCOPE_ROLES.indexOf(role as ScopeRole);
}

/** Whether a scope allows only reading (clio_read): no write of any kind, anywhere. */
export function isReadOnly(scope: Scope): boolean {
  return scope.role === "clio_read";
}

/**
 * `user` as seen through `scope`. `levelOn(ds)` is the owner's own rank on each scoped dataset
 * (computed by permissions.ts without the scope); roles above the cap are lowered to it.
 */
export function clampUser(user: User, scope: Scope, levelOn: (dataset: string) => number): User {
  const cap = scopeRank(scope.role);
  const datasets: Record<string, string[]> = {};
  for (const dataset of scope.datasets) {
    const level = Math.min(levelOn(dataset), cap);
    if (level >= 0) datasets[dataset] = [SCOPE_ROLES[level]!];
  }
  const clamped: Scoped = { ...user, global_roles: [], groups: [], datasets, [SCOPE]: scope };
  return clamped;
}
