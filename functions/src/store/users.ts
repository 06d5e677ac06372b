/**
 * Users from `clio_users`, cached per instance. Unlike clio-store, users without a document are
 * cached too, group membership is a query (array-contains-any) rather than a scan, and every
 * write made through this instance invalidates the affected entries at once.
 */
import { FieldPath, type Firestore } from "firebase-admin/firestore";
import { userDocSchema, type User, type UserDoc } from "../schemas/users.js";
import { TtlCache } from "./cache.js";

export const USERS = "clio_users";
/** Firestore allows at most 30 values in array-contains-any. */
const GROUPS_PER_QUERY = 30;
export const MAX_GROUP_MEMBERS = 5000;

export function toUser(email: string, doc: UserDoc | undefined, owner: string): User {
  const globalRoles = new Set(doc?.global_roles ?? doc?.clio_global ?? []);
  if (owner && email === owner) globalRoles.add("admin");
  return {
    email,
    name: doc?.name ?? null,
    org: doc?.org ?? null,
    disabled: doc?.disabled === true,
    global_roles: [...globalRoles].sort(),
    datasets: doc?.datasets ?? {},
    groups: doc?.groups ?? [],
  };
}

export class UserStore {
  private readonly cache: TtlCache<string, User>;

  constructor(
    private readonly db: Firestore,
    private readonly owner: string,
    ttlMs: number,
    now: () => number = Date.now,
  ) {
    this.cache = new TtlCache(ttlMs, 10_000, now);
  }

  async get(email: string): Promise<User> {
    const cached = this.cache.get(email);
    if (cached) return cached;
    const snap = await this.db.collection(USERS).doc(email).get();
    const parsed = snap.exists ? userDocSchema.safeParse(snap.data()) : undefined;
    // A malformed document grants nothing rather than failing every request of that user.
    const user = toUser(email, parsed?.success ? parsed.data : undefined, this.owner);
    this.cache.set(email, user);
    return user;
  }

  /** Parses one stored document into the API's user shape. */
  fromDoc(email: string, data: unknown): User {
    const parsed = userDocSchema.safeParse(data);
    return toUser(email, parsed.success ? parsed.data : undefined, this.owner);
  }

  invalidate(email?: string): void {
    if (email === undefined) this.cache.clear();
    else this.cache.delete(email);
  }

  /** Emails of the members of any of `groups`, by query. */
  async membersOf(groups: string[]): Promise<string[]> {
    const members = new Set<string>();
    for (let i = 0; i < groups.length; i += GROUPS_PER_QUERY) {
      const chunk = groups.slice(i, i + GROUPS_PER_QUERY);
      const snap = await this.db
        .collection(USERS)
        .where("groups", "array-contains-any", chunk)
        .select(FieldPath.documentId())
        .limit(MAX_GROUP_MEMBERS)
        .get();
      for (const doc of snap.docs) members.add(doc.id);
    }
    return [...members].sort();
  }
}
