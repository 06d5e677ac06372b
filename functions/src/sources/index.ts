/**
 * The registry of harvestable sources: one factory per source and the politeness policy of its
 * host, so the orchestrator needs no source-specific code.
 */
import type { CatalogSource } from "../schemas/catalog.js";
import { dandiHarvester, DANDI_HOST_POLICY } from "./dandi.js";
import { hippocampomeHarvester, HIPPOCAMPOME_HOST_POLICY, type HippocampomeOptions } from "./hippocampome.js";
import type { HostPolicy } from "./http.js";
import { modelDbHarvester, MODELDB_HOST_POLICY } from "./modeldb.js";
import { neuroMorphoHarvester, NEUROMORPHO_HOST_POLICY } from "./neuromorpho.js";
import type { SourceHarvester, SourceOptions } from "./types.js";

export type HarvesterOptions = SourceOptions &
  Omit<HippocampomeOptions, keyof SourceOptions> & {
    webUrl?: string;
    /** PEM certificates trusted for the source's host when its chain misses an intermediate. */
    extraCa?: string[];
  };

export const HOST_POLICIES: Record<CatalogSource, Partial<HostPolicy>> = {
  neuromorpho: NEUROMORPHO_HOST_POLICY,
  hippocampome: HIPPOCAMPOME_HOST_POLICY,
  modeldb: MODELDB_HOST_POLICY,
  dandi: DANDI_HOST_POLICY,
};

export function createHarvester(source: CatalogSource, options: HarvesterOptions): SourceHarvester {
  switch (source) {
    case "neuromorpho":
      return neuroMorphoHarvester(options);
    case "hippocampome":
      return hippocampomeHarvester(options);
    case "modeldb":
      return modelDbHarvester(options);
    case "dandi":
      return dandiHarvester(options);
  }
}
