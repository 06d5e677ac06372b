/**
 * Pull requests: a snapshot of one of the caller's kv values, kept in
 * `clio_pull_requests/{email}/{scope}/{key}` for later processing (clio's merge workflow).
 */
import type { DocumentData, QueryDocumentSnapshot } from "firebase-admin/firestore";
import { ApiError, badRequest, forbidden, notFound } from "../errors.js";
import type { Root } from "./root.js";
import {
  approxBytes,
  DEFAULT_PAGE_MAX_BYTES,
  markCut,
  type ListItem,
  type PageReader,
} from "../store/pages.js";
import { firestoreId } from "../schemas/kv.js";
import type { User } from "../schemas/users.js";
import { allows } from "../auth/permissions.js";
import { assertFitsDocument } from "../store/document-size.js";
import { kvRef, nowSeconds, TIMESTAMP_FIELD } from "./kv.js";

/** What this service needs of the composition root. */
type Needs = Pick<Root, "config" | "db" | "now">;

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
  // A user's pull requests are listed as one item, so they must fit one list budget (security
  // review M1): refused here rather than unreadable later.
  const budget = deps.config.listMaxBytes;
  const tree = await userPullRequests(deps, user.email, budget);
  const replaced = tree[scope]?.[key];
  const total =
    approxBytes(tree) -
    (replaced === undefined ? 0 : approxBytes(replaced) + approxBytes(key)) +
    approxBytes(data);
  if (total > budget)
    throw new ApiError(
      "payload_too_large",
      `${pull} would make the pull requests of ${user.email} about ${total} bytes; ` +
        `one user's pull requests are listed together and hold at most ${budget} (LIST_MAX_BYTES)`,
    );
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

/**
 * One user's pull requests as `{scope: {key: value}}`, read document by document and refused
 * past `maxBytes` (security review M1), so a tree planted before the cap existed never sits in
 * memory whole.
 */
async function userPullRequests(
  deps: Needs,
  email: string,
  maxBytes: number,
): Promise<Record<string, Record<string, DocumentData>>> {
  const scopes = (await deps.db.collection(PULL_REQUESTS).doc(email).listCollections()).slice(0, MAX_SCOPES);
  const out: Record<string, Record<string, DocumentData>> = {};
  let bytes = 0;
  for (const scope of scopes) {
    const docs: [string, DocumentData][] = [];
    for await (const doc of scope
      .limit(MAX_KEYS_PER_SCOPE)
      .stream() as AsyncIterable<QueryDocumentSnapshot>) {
      const data = doc.data();
      bytes += approxBytes(data) + approxBytes(doc.id);
      if (bytes > maxBytes)
        throw new ApiError(
          "payload_too_large",
          `The pull requests of ${email} hold more than ${maxBytes} bytes (LIST_MAX_BYTES), ` +
            "more than one answer carries; an admin must prune clio_pull_requests/" +
            email,
        );
      docs.push([doc.id, data]);
    }
    if (docs.length > 0) out[scope.id] = Object.fromEntries(docs);
  }
  return out;
}

/**
 * Pages of `{email: {scope: {key: value}}}`, one email per item; users with none are left out.
 * A page stops once its items reach `maxBytes` (each item is at most that, see above).
 */
export function pullRequestPages(deps: Needs, emails: string[]): PageReader {
  return async (after, limit, maxBytes = DEFAULT_PAGE_MAX_BYTES) => {
    const start = after === undefined ? 0 : emails.findIndex((e) => e > after);
    const items: ListItem[] = [];
    let bytes = 0;
    for (const email of start < 0 ? [] : emails.slice(start)) {
      if (items.length > 0 && bytes >= maxBytes) return markCut(items);
      const value = await userPullRequests(deps, email, maxBytes);
      if (Object.keys(value).length === 0) continue;
      items.push({ key: email, value, position: email });
      bytes += approxBytes(value);
      if (items.length === limit) break;
    }
    return items;
  };
}
