/**
 * Pull requests: a snapshot of one of the caller's kv values, kept in
 * `clio_pull_requests/{email}/{scope}/{key}` for later processing (clio's merge workflow).
 */
import type { DocumentData } from "firebase-admin/firestore";
import { badRequest, forbidden, notFound } from "../errors.js";
import type { Root } from "./root.js";
import type { PageReader } from "../store/pages.js";
import { firestoreId } from "../schemas/kv.js";
import type { User } from "../schemas/users.js";
import { allows } from "../auth/permissions.js";
import { assertFitsDocument } from "../store/document-size.js";
import { kvRef, nowSeconds, TIMESTAMP_FIELD } from "./kv.js";

/** What this service needs of the composition root. */
type Needs = Pick<Root, "db" | "now">;

export const PULL_REQUESTS = "clio_pull_requests";
/** Bounds what one user's entry reads: scopes, and keys per scope. */
const MAX_SCOPES = 1000;
const MAX_KEYS_PER_SCOPE = 1000;

export async function createPullRequest(deps: Needs, user: User, pull: string): Promise<void> {
  const [kind, scope, key] = pull.split("/");
  if (kind !== "kv" || !firestoreId.safeParse(scope).success || !firestoreId.safeParse(key).success)
    throw badRequest('Only "kv/<scope>/<key>" can be pulled');
  if (scope === undefined || key === undefined) throw badRequest('Only "kv/<scope>/<key>" can be pulled');
  const value = (await kvRef(deps.db, user.email, scope, key).get()).data();
  if (!value) throw notFound(`kv/${scope}/${key} does not exist`);
  const ref = deps.db.collection(PULL_REQUESTS).doc(user.email).collection(scope).doc(key);
  const data = { ...value, [TIMESTAMP_FIELD]: nowSeconds(deps) };
  assertFitsDocument(ref, data, pull);
  await ref.set(data);
}

/** The emails whose pull requests the caller asked for (`""` = self, `all`, or one email). */
export async function pullRequestEmails(
  deps: Needs,
  user: User,
  userEmail: string | undefined,
): Promise<string[]> {
  const wanted = (userEmail ?? "").trim().toLowerCase();
  if (wanted === "" || wanted === user.email) return [user.email];
  if (!allows(user, "is_admin"))
    throw forbidden(`Only admins can read the pull requests of ${wanted === "all" ? "everyone" : wanted}`);
  if (wanted !== "all") return [wanted];
  // The {email} documents are never written (only their subcollections), so they are listed,
  // not queried; there is one per user who ever made a pull request.
  const refs = await deps.db.collection(PULL_REQUESTS).listDocuments();
  return refs.map((r) => r.id).sort();
}

/** One user's pull requests as `{scope: {key: value}}`. */
async function userPullRequests(
  deps: Needs,
  email: string,
): Promise<Record<string, Record<string, DocumentData>>> {
  const scopes = (await deps.db.collection(PULL_REQUESTS).doc(email).listCollections()).slice(0, MAX_SCOPES);
  const out: Record<string, Record<string, DocumentData>> = {};
  for (const scope of scopes) {
    const snap = await scope.limit(MAX_KEYS_PER_SCOPE).get();
    if (snap.empty) continue;
    out[scope.id] = Object.fromEntries(snap.docs.map((d) => [d.id, d.data()]));
  }
  return out;
}

/** Pages of `{email: {scope: {key: value}}}`, one email per item; users with none are left out. */
export function pullRequestPages(deps: Needs, emails: string[]): PageReader {
  return async (after, limit) => {
    const start = after === undefined ? 0 : emails.findIndex((e) => e > after);
    const items = [];
    for (const email of start < 0 ? [] : emails.slice(start)) {
      const value = await userPullRequests(deps, email);
      if (Object.keys(value).length === 0) continue;
      items.push({ key: email, value, position: email });
      if (items.length === limit) break;
    }
    return items;
  };
}
