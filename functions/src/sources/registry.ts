/**
 * The source registry: one line per harvested source. Host policies, the harvester factory, the
 * base URL and options a deployment's params give a source, and its schedule are all derived from
 * here, so adding a source touches its module and one line below (plus its params in config.ts and
 * its name in the catalog schema's source list).
 */
import type { Config } from "../config.js";
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
    /** DANDI: NWB files listed per dandiset at most. */
    maxFiles?: number;
    /** PEM certificates trusted for the source's host when its chain misses an intermediate. */
    extraCa?: string[];
  };

export interface SourceEntry {
  create(options: HarvesterOptions): SourceHarvester;
  hostPolicy: Partial<HostPolicy>;
  /**
   * Cloud Scheduler cron (UTC) of the source's scheduled harvest; a literal because the SDK takes
   * it only at deploy time. Staggered across the hour so two runs rarely rebuild the index at once.
   */
  schedule: string;
  baseUrl(config: Config): string;
  /** Options beyond the base URL that the deployment's params give the source. */
  options(config: Config): Partial<HarvesterOptions>;
}

const regions = (list: string[]) => (list.length ? { filters: { brainRegions: list } } : {});

export const SOURCE_REGISTRY: Record<CatalogSource, SourceEntry> = {
  neuromorpho: {
    create: neuroMorphoHarvester,
    hostPolicy: NEUROMORPHO_HOST_POLICY,
    schedule: "5 * * * *",
    baseUrl: (c) => c.neuromorphoBaseUrl,
    options: (c) => ({
      ...regions(c.neuromorphoRegions),
      ...(c.neuromorphoExtraCaPem.trim() ? { extraCa: [c.neuromorphoExtraCaPem.trim()] } : {}),
    }),
  },
  hippocampome: {
    create: hippocampomeHarvester,
    hostPolicy: HIPPOCAMPOME_HOST_POLICY,
    schedule: "20 * * * *",
    baseUrl: (c) => c.hippocampomeBaseUrl,
    options: (c) => ({
      ...regions(c.hippocampomeRegions),
      ...(c.hippocampomeSearchUrl ? { searchUrl: c.hippocampomeSearchUrl } : {}),
      typesCsvUrl: c.hippocampomeTypesCsvUrl,
      markersCsvUrl: c.hippocampomeMarkersCsvUrl,
      ...(c.hippocampomeConnectionsCsvUrl ? { connectionsCsvUrl: c.hippocampomeConnectionsCsvUrl } : {}),
    }),
  },
  modeldb: {
    create: modelDbHarvester,
    hostPolicy: MODELDB_HOST_POLICY,
    schedule: "35 * * * *",
    baseUrl: (c) => c.modeldbBaseUrl,
    options: (c) => regions(c.modeldbRegions),
  },
  dandi: {
    create: dandiHarvester,
    hostPolicy: DANDI_HOST_POLICY,
    schedule: "50 * * * *",
    baseUrl: (c) => c.dandiBaseUrl,
    options: (c) => (c.dandiSearch ? { filters: { search: c.dandiSearch } } : {}),
  },
};

export const HARVEST_SOURCES = Object.keys(SOURCE_REGISTRY) as CatalogSource[];

export const HOST_POLICIES = Object.fromEntries(
  HARVEST_SOURCES.map((s) => [s, SOURCE_REGISTRY[s].hostPolicy]),
) as Record<CatalogSource, Partial<HostPolicy>>;

export function createHarvester(source: CatalogSource, options: HarvesterOptions): SourceHarvester {
  return SOURCE_REGISTRY[source].create(options);
}

export function sourceBaseUrl(config: Config, source: CatalogSource): string {
  return SOURCE_REGISTRY[source].baseUrl(config);
}

/** The harvester options a deployment's params give a source. */
export function harvesterOptions(config: Config, source: CatalogSource): HarvesterOptions {
  return { baseUrl: sourceBaseUrl(config, source), ...SOURCE_REGISTRY[source].options(config) };
}
