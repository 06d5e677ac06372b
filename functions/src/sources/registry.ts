/**
 * The source registry: one entry per harvested source. Host policies, the harvester factory, the
 * settings that give its options (base URL, filters, published files), the hosts its downloads may
 * redirect to, and its schedule are all derived from here, so adding a source touches its module
 * and one entry below (plus its params in config.ts and its name in the catalog schema's list).
 */
import type { Config, settings } from "../config.js";
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

/** A harvester option a deployment's params can set; `brainRegions` and `search` go to its filters. */
export type ParamOption =
  | "baseUrl"
  | "brainRegions"
  | "search"
  | "extraCa"
  | "searchUrl"
  | "typesCsvUrl"
  | "markersCsvUrl"
  | "morphologyCsvUrl"
  | "ephysCsvUrl"
  | "connectionsCsvUrl";

/** A declared setting (a param, not a secret) whose value has type T. */
type SettingOf<T> = {
  [K in keyof Config & keyof typeof settings]: Config[K] extends T ? K : never;
}[keyof Config & keyof typeof settings];

export interface SourceEntry {
  create(options: HarvesterOptions): SourceHarvester;
  hostPolicy: Partial<HostPolicy>;
  /**
   * Cloud Scheduler cron (UTC) of the source's scheduled harvest; a literal because the SDK takes
   * it only at deploy time. Staggered across the hour so two runs rarely rebuild the index at once.
   */
  schedule: string;
  /**
   * Each option the deployment's params give the harvester, and the setting (config.ts) holding
   * it; an empty setting leaves the harvester's default. The one place a source's params are named.
   */
  params: { baseUrl: SettingOf<string> } & Partial<Record<ParamOption, SettingOf<string | string[]>>>;
  /** The setting listing other hosts its file URLs may redirect to (DANDI's S3 bucket). */
  redirectHosts?: SettingOf<string[]>;
}

export const SOURCE_REGISTRY: Record<CatalogSource, SourceEntry> = {
  neuromorpho: {
    create: neuroMorphoHarvester,
    hostPolicy: NEUROMORPHO_HOST_POLICY,
    schedule: "5 * * * *",
    params: {
      baseUrl: "neuromorphoBaseUrl",
      brainRegions: "neuromorphoRegions",
      extraCa: "neuromorphoExtraCaPem",
    },
  },
  hippocampome: {
    create: hippocampomeHarvester,
    hostPolicy: HIPPOCAMPOME_HOST_POLICY,
    schedule: "20 * * * *",
    params: {
      baseUrl: "hippocampomeBaseUrl",
      brainRegions: "hippocampomeRegions",
      searchUrl: "hippocampomeSearchUrl",
      typesCsvUrl: "hippocampomeTypesCsvUrl",
      markersCsvUrl: "hippocampomeMarkersCsvUrl",
      morphologyCsvUrl: "hippocampomeMorphologyCsvUrl",
      ephysCsvUrl: "hippocampomeEphysCsvUrl",
      connectionsCsvUrl: "hippocampomeConnectionsCsvUrl",
    },
  },
  modeldb: {
    create: modelDbHarvester,
    hostPolicy: MODELDB_HOST_POLICY,
    schedule: "35 * * * *",
    params: { baseUrl: "modeldbBaseUrl", brainRegions: "modeldbRegions" },
  },
  dandi: {
    create: dandiHarvester,
    hostPolicy: DANDI_HOST_POLICY,
    schedule: "50 * * * *",
    params: { baseUrl: "dandiBaseUrl", search: "dandiSearch" },
    redirectHosts: "dandiRedirectHosts",
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
  return config[SOURCE_REGISTRY[source].params.baseUrl];
}

/** The harvester options a deployment's params give a source. */
export function harvesterOptions(config: Config, source: CatalogSource): HarvesterOptions {
  const options: HarvesterOptions = { baseUrl: sourceBaseUrl(config, source) };
  for (const [option, setting] of Object.entries(SOURCE_REGISTRY[source].params)) {
    const raw = config[setting];
    const value = typeof raw === "string" ? raw.trim() : raw;
    if (value.length === 0) continue;
    if (option === "brainRegions") options.filters = { ...options.filters, brainRegions: [value].flat() };
    else if (option === "search") options.filters = { ...options.filters, search: String(value) };
    else if (option === "extraCa") options.extraCa = [value].flat();
    else Object.assign(options, { [option]: value });
  }
  return options;
}

/** Hosts a source's file URLs may be fetched from: its own, and those its downloads redirect to. */
export function sourceHosts(config: Config, source: CatalogSource): { own: string; redirects: string[] } {
  const entry = SOURCE_REGISTRY[source];
  return {
    own: new URL(sourceBaseUrl(config, source)).host,
    redirects: entry.redirectHosts ? config[entry.redirectHosts] : [],
  };
}
