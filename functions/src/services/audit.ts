/** Reading the audit trail (admins) and a dataset's change feed (its dataset admins). */
import type { PageReader } from "../store/pages.js";
import type { AuditStore, FeedEntry } from "../store/audit.js";

export interface AuditDeps {
  audit: AuditStore;
}

export function trailPages(deps: AuditDeps): PageReader {
  return deps.audit.trailPages();
}

/** One page of `dataset`'s feed after seq `since`, and the seq to continue from. */
export async function changesSince(
  deps: AuditDeps,
  dataset: string,
  since: number,
  limit: number,
): Promise<{ changes: FeedEntry[]; next: number }> {
  const changes = await deps.audit.feed(dataset, since, limit);
  return { changes, next: changes.length > 0 ? changes[changes.length - 1]!.seq : since };
}
