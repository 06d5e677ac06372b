/**
 * A catalog record from the fields a test cares about, with the rest as a harvest writes them.
 * Free of side effects at import, so bench/ uses it too.
 */
import type { CatalogRecord } from "../../src/schemas/catalog.js";
import { contentHash } from "../../src/services/harvest.js";

export type Spec = Partial<CatalogRecord> & Pick<CatalogRecord, "id" | "kind" | "name">;

export function record(spec: Spec): CatalogRecord {
  const [source, sourceId] = spec.id.split(/:(.*)/s) as [CatalogRecord["source"], string];
  const content = {
    source,
    sourceId,
    description: "",
    species: [],
    brainRegions: [],
    cellTypes: [],
    layers: [],
    markers: [],
    files: [],
    links: [],
    licence: null,
    citations: [],
    attributes: {},
    sourceModified: null,
    sourceVersion: null,
    ...spec,
  };
  const { harvestedAt, lastSeenRun, withdrawn, withdrawnAt, contentHash: _h, ...rest } = content;
  void _h;
  return {
    ...rest,
    harvestedAt: harvestedAt ?? "2026-01-01T00:00:00.000Z",
    contentHash: contentHash(rest),
    lastSeenRun: lastSeenRun ?? "seed",
    withdrawn: withdrawn ?? false,
    withdrawnAt: withdrawnAt ?? null,
  };
}
