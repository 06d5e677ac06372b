/** User administration over `clio_users` (admins only; the API layer checks). */
import type { z } from "zod";
import type { Root } from "./root.js";
import type { userUpdateSchema } from "../schemas/users.js";
import { firestorePages, type PageReader } from "../store/pages.js";
import { USERS } from "../store/users.js";

/** What this service needs of the composition root. */
type Needs = Pick<Root, "db" | "users">;

type UserUpdate = z.infer<typeof userUpdateSchema>;

/** Every user, by email, as clients see them. */
export function userPages(deps: Needs): PageReader {
  return firestorePages(deps.db.collection(USERS), (id, data) => ({
    key: id,
    value: deps.users.fromDoc(id, data),
  }));
}

/**
 * Applies updates: each field sent replaces the stored one, fields not sent are kept. clio-store
 * overwrote the whole document with the roles, erasing groups, name, org and disabled.
 */
export async function updateUsers(deps: Needs, updates: Record<string, UserUpdate>): Promise<void> {
  const batch = deps.db.batch();
  for (const [email, update] of Object.entries(updates)) {
    const fields = Object.keys(update);
    const ref = deps.db.collection(USERS).doc(email);
    // An empty update still creates the document, which is how clio marks a known user.
    if (fields.length === 0) batch.set(ref, {}, { merge: true });
    else batch.set(ref, update, { mergeFields: fields });
  }
  await batch.commit();
  for (const email of Object.keys(updates)) deps.users.invalidate(email);
}

export async function deleteUsers(deps: Needs, emails: string[]): Promise<void> {
  const batch = deps.db.batch();
  for (const email of emails) batch.delete(deps.db.collection(USERS).doc(email));
  await batch.commit();
  for (const email of emails) deps.users.invalidate(email);
}
