/**
 * What the catalog keeps per instance: the loaded search index and the download client. Built
 * once by the composition root (`services/root.ts`, through `catalogInstance`), which owns it; services receive its parts.
 */
import type { Config } from "../../config.js";
import type { PoliteClient } from "../../sources/http.js";
import { provide } from "../root.js";
import { createCatalogIndex, type CatalogIndex, type IndexDeps } from "./search-index.js";

export interface CatalogInstance {
  catalogIndex: CatalogIndex;
  /** Built on first use; the download module (zip, HTTP client) is imported only then. */
  downloadClient: () => Promise<PoliteClient>;
}

export function createCatalogInstance(deps: IndexDeps & { config: Config }): CatalogInstance {
  let client: Promise<PoliteClient> | undefined;
  return {
    catalogIndex: createCatalogIndex(deps),
    downloadClient: () =>
      (client ??= import("./download.js").then(({ createDownloadClient }) =>
        createDownloadClient(deps.config),
      )),
  };
}

/** The instance's catalog parts, owned by its composition root. */
export const catalogInstance = provide("catalog", (root) => createCatalogInstance(root));
