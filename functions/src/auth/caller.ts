/**
 * The caller of one request, as every layer below http/ sees it: who they are and the permission
 * predicates of `permissions.ts`, bound to the public-dataset lookup. http/ builds one per
 * request; services take it instead of the HTTP context, so they never import http/.
 */
import type { User } from "../schemas/users.js";
import { forbidden } from "../errors.js";
import { allows, hasRole, type Permission } from "./permissions.js";
import type { Principal } from "./tokens.js";

export interface Caller {
  user: User;
  /** The verified credential; undefined for anonymous callers. */
  principal: Principal | undefined;
  /** Whether the caller holds `permission` on `dataset`. */
  can: (permission: Permission, dataset?: string) => Promise<boolean>;
  /** Throws 403 unless the caller holds `permission` on `dataset`. */
  require: (permission: Permission, dataset?: string) => Promise<void>;
  /** Throws 403 unless the caller has clio's `has_role(role, dataset)` (public datasets count). */
  requireRole: (role: string, dataset: string) => Promise<void>;
}

export const ANONYMOUS: User = {
  email: "",
  name: null,
  org: null,
  disabled: false,
  global_roles: [],
  datasets: {},
  groups: [],
};

function who(user: User): string {
  return user.email || "anonymous";
}

/** Binds the predicates to `user`; `isPublic` answers whether a dataset is public. */
export function makeCaller(
  user: User,
  principal: Principal | undefined,
  isPublic: (dataset: string) => Promise<boolean>,
): Caller {
  const can = async (permission: Permission, dataset?: string) =>
    allows(user, permission, dataset, dataset !== undefined && (await isPublic(dataset)));
  return {
    user,
    principal,
    can,
    async require(permission, dataset) {
      if (!(await can(permission, dataset))) {
        throw forbidden(
          dataset === undefined
            ? `${who(user)} lacks ${permission}`
            : `${who(user)} lacks ${permission} on dataset ${dataset}`,
        );
      }
    },
    async requireRole(role, dataset) {
      if (!hasRole(user, role, dataset, await isPublic(dataset))) {
        throw forbidden(`${who(user)} lacks ${role} on dataset ${dataset}`);
      }
    },
  };
}
