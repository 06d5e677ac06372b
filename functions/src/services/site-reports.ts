/** Site reports: one per user per UTC day at `clio_site_reports/{email}-{YYYY-MM-DD}`, overwritten. */
import type { DocumentData } from "firebase-admin/firestore";
import type { Root } from "./root.js";
import { firestorePages, type PageReader } from "../store/pages.js";
import type { User } from "../schemas/users.js";
import { assertFitsDocument } from "../store/document-size.js";

/** What this service needs of the composition root. */
type Needs = Pick<Root, "db" | "now">;

export const SITE_REPORTS = "clio_site_reports";

/** The report's id. clio used the server's local date; UTC makes "one per day" the same everywhere. */
export function siteReportId(email: string, now: Date): string {
  return `${email}-${now.toISOString().slice(0, 10)}`;
}

export async function writeSiteReport(deps: Needs, user: User, report: DocumentData): Promise<string> {
  const id = siteReportId(user.email, deps.now());
  const ref = deps.db.collection(SITE_REPORTS).doc(id);
  assertFitsDocument(ref, report, "The report");
  await ref.set(report);
  return id;
}

export function siteReportPages(deps: Needs): PageReader {
  return firestorePages(deps.db.collection(SITE_REPORTS), (id, data) => ({ key: id, value: data }));
}
