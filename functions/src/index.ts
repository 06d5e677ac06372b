/**
 * Wiring only: global options and one HTTPS function per API group. Hosting rewrites in
 * firebase.json put them all behind one origin with clio-store's paths.
 */
import { setGlobalOptions } from "firebase-functions";
import { annotationsV1Api } from "./api/annotations-v1.js";
import { annotationsApi } from "./api/annotations.js";
import { atlasApi, atlasVerifyApi } from "./api/atlas.js";
import { catalogAdminApi, catalogApi } from "./api/catalog.js";
import { datasetsApi } from "./api/datasets.js";
import { docsApi } from "./api/docs.js";
import { filesApi } from "./api/files.js";
import { apiGroups } from "./api/groups.js";
import { kvApi } from "./api/kv.js";
import { neuprintApi } from "./api/neuprint.js";
import { pullRequestApi } from "./api/pull-request.js";
import { rolesApi } from "./api/roles.js";
import { savedSearchesApi } from "./api/savedsearches.js";
import { serverApi } from "./api/server.js";
import { signaturesApi } from "./api/signatures.js";
import { siteReportsApi } from "./api/site-reports.js";
import { transferApi } from "./api/transfer.js";
import { usersApi } from "./api/users.js";
import { neuprintCredentials, tokenSecret } from "./config.js";
import { httpFunction } from "./http/function.js";

// A cost cap for every function; raise per function only with a reason.
setGlobalOptions({ region: "us-central1", maxInstances: 20, memory: "512MiB", timeoutSeconds: 120 });

export const datasets = httpFunction(datasetsApi);
export const roles = httpFunction(rolesApi);
export const users = httpFunction(usersApi);
export const server = httpFunction(serverApi);
export const docs = httpFunction(docsApi(() => apiGroups));

export const annotations = httpFunction(annotationsApi);
export const annotationsv1 = httpFunction(annotationsV1Api);
export const atlas = httpFunction(atlasApi);
export const atlasverify = httpFunction(atlasVerifyApi);
export const savedsearches = httpFunction(savedSearchesApi);
export const kv = httpFunction(kvApi);
export const pullrequest = httpFunction(pullRequestApi);
export const sitereports = httpFunction(siteReportsApi);

export const signatures = httpFunction(signaturesApi);
export const transfer = httpFunction(transferApi);
export const neuprint = httpFunction(neuprintApi, { secrets: [tokenSecret, neuprintCredentials] });

export const files = httpFunction(filesApi);
// The file catalog: a scheduled crawl, and storage triggers that keep it current in between.
export { filesCrawl, filesObjectDeleted, filesObjectFinalized } from "./triggers/files.js";

// The harvested catalog: search and download (the loaded index needs the memory); harvest
// control and index rebuilds, sized like the scheduled harvests (a rebuild holds the whole
// index); and one scheduled harvest per source.
export const catalog = httpFunction(catalogApi, { memory: "1GiB" });
// A rebuild streams records into the builder: bench/catalog.ts measures a peak RSS of about
// 0.8-0.9 GB for 300,000 records, so 2 GiB leaves room for the runtime and a harvest step.
export const catalogadmin = httpFunction(catalogAdminApi, { memory: "2GiB", timeoutSeconds: 540 });
export { harvestDandi, harvestHippocampome, harvestModeldb, harvestNeuromorpho } from "./triggers/harvest.js";
