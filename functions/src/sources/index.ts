/** Harvestable sources: everything is derived from the registry (sources/registry.ts). */
export {
  createHarvester,
  harvesterOptions,
  HARVEST_SOURCES,
  HOST_POLICIES,
  sourceBaseUrl,
  SOURCE_REGISTRY,
  type HarvesterOptions,
} from "./registry.js";
