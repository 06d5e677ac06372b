/**
 * The contract between the run orchestrator (services/harvest.ts) and a source module.
 *
 * A harvester is a resumable iterator: `step(cursor)` does a bounded amount of upstream work and
 * returns the records it mapped plus the cursor to continue from. Cursors are plain JSON so the
 * orchestrator can checkpoint them in Firestore; a run killed between steps redoes at most one step.
 */
import type { CatalogContent, CatalogSource } from "../schemas/catalog.js";
import type { PoliteClient } from "./http.js";

/** What the catalog already holds for a record, so sources can skip unchanged detail fetches. */
export interface KnownRecord {
  sourceModified: string | null;
  withdrawn: boolean;
}

export interface StepContext {
  http: PoliteClient;
  signal?: AbortSignal;
  /** Existing records by catalog id (absent ids are new). */
  known(ids: string[]): Promise<Map<string, KnownRecord>>;
  /** The previous complete run's watermark, for incremental listing. */
  watermark: string | null;
  mode: "full" | "incremental";
}

export interface StepProblem {
  message: string;
  url?: string;
}

/** A listed record that could not be read: counted and reported, never a reason for `partial`. */
export interface UnreadableRecord {
  /** Catalog id when the listing named the record; it then counts as seen and is never withdrawn. */
  id?: string;
  reason: string;
  url?: string;
}

export interface StepResult {
  /** Records fetched and mapped in this step. */
  records: CatalogContent[];
  /** Catalog ids confirmed present upstream without refetching them (unchanged version date). */
  seen?: string[];
  /** Null when the listing is finished. */
  next: unknown;
  /** Total records the source announces, when it does. */
  total?: number;
  /** The listing itself lost data (a page skipped): the run is partial and withdraws nothing. */
  problems?: StepProblem[];
  /** Listed records that could not be read (fetched but unparseable, or gone in between). */
  unreadable?: UnreadableRecord[];
  /** Details missing (a side file unavailable): reported, the run stays complete. */
  warnings?: StepProblem[];
  /** Highest modification time in this step, for the next incremental run. */
  watermark?: string;
}

export interface SourceHarvester {
  source: CatalogSource;
  /** Whether an incremental run is meaningful for this source. */
  incremental: boolean;
  step(ctx: StepContext, cursor: unknown): Promise<StepResult>;
}

export interface HarvestFilters {
  /** Brain regions to keep, in the source's own vocabulary. Defaults: the hippocampal formation. */
  brainRegions?: string[];
  /** Free-text search sent to sources that have one (DANDI). */
  search?: string;
}

export interface SourceOptions {
  /** Site root, e.g. https://neuromorpho.org; API paths are appended by each module. */
  baseUrl: string;
  filters?: HarvestFilters;
  pageSize?: number;
}

/** Drops HTML tags and collapses whitespace: sources embed markup in free-text notes. */
export function plainText(value: unknown): string {
  if (typeof value !== "string") return "";
  return value
    .replace(/<[^>]*>/g, " ")
    .replace(/&nbsp;/g, " ")
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/\s+/g, " ")
    .trim();
}

export function uniq(values: (string | null | undefined)[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    const t = v?.trim();
    if (t && !out.includes(t)) out.push(t);
  }
  return out;
}

export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}
