/**
 * Wiring only: global options and one HTTPS function per API group. Hosting rewrites in
 * firebase.json put them all behind one origin with clio-store's paths.
 *
 * Every deployed function imports this module, so it imports no API group: each function loads
 * its own group on first use (`lazyGroup`, http/function.ts), and a cold `roles` never pays for
 * BigQuery, Cloud Storage or the catalog. The export name is repeated in `lazyGroup` so the
 * instance serving it starts importing at once; the wiring test checks the two agree.
 */
// From "firebase-functions/options", not the package root, which loads every trigger provider.
import { setGlobalOptions } from "firebase-functions/options";
import { neuprintCredentials, tokenSecret } from "./config.js";
import { httpFunction, lazyGroup } from "./http/function.js";

// A cost cap for every function; raise per function only with a reason.
setGlobalOptions({ region: "us-central1", maxInstances: 20, memory: "512MiB", timeoutSeconds: 120 });

export const datasets = httpFunction(
  lazyGroup("datasets", async () => (await import("./api/datasets.js")).datasetsApi),
);
export const roles = httpFunction(lazyGroup("roles", async () => (await import("./api/roles.js")).rolesApi));
export const users = httpFunction(lazyGroup("users", async () => (await import("./api/users.js")).usersApi));
export const server = httpFunction(
  lazyGroup("server", async () => (await import("./api/server.js")).serverApi),
);
export const docs = httpFunction(
  lazyGroup("docs", async () => {
    const [{ docsApi }, { apiGroups }] = await Promise.all([
      import("./api/docs.js"),
      import("./api/groups.js"),
    ]);
    return docsApi(() => apiGroups);
  }),
);

export const annotations = httpFunction(
  lazyGroup("annotations", async () => (await import("./api/annotations.js")).annotationsApi),
);
export const annotationsv1 = httpFunction(
  lazyGroup("annotationsv1", async () => (await import("./api/annotations-v1.js")).annotationsV1Api),
);
export const atlas = httpFunction(lazyGroup("atlas", async () => (await import("./api/atlas.js")).atlasApi));
export const atlasverify = httpFunction(
  lazyGroup("atlasverify", async () => (await import("./api/atlas.js")).atlasVerifyApi),
);
export const savedsearches = httpFunction(
  lazyGroup("savedsearches", async () => (await import("./api/savedsearches.js")).savedSearchesApi),
);
export const kv = httpFunction(lazyGroup("kv", async () => (await import("./api/kv.js")).kvApi));
export const pullrequest = httpFunction(
  lazyGroup("pullrequest", async () => (await import("./api/pull-request.js")).pullRequestApi),
);
export const sitereports = httpFunction(
  lazyGroup("sitereports", async () => (await import("./api/site-reports.js")).siteReportsApi),
);

export const signatures = httpFunction(
  lazyGroup("signatures", async () => (await import("./api/signatures.js")).signaturesApi),
);
export const transfer = httpFunction(
  lazyGroup("transfer", async () => (await import("./api/transfer.js")).transferApi),
);
export const neuprint = httpFunction(
  lazyGroup("neuprint", async () => (await import("./api/neuprint.js")).neuprintApi),
  { secrets: [tokenSecret, neuprintCredentials] },
);

export const files = httpFunction(lazyGroup("files", async () => (await import("./api/files.js")).filesApi));
// The file catalog: a scheduled crawl, and storage triggers that keep it current in between.
export { filesCrawl, filesObjectDeleted, filesObjectFinalized } from "./triggers/files.js";

// The harvested catalog: search and download (the loaded index needs the memory); harvest
// control and index rebuilds, sized like the scheduled harvests (a rebuild holds the whole
// index); and one scheduled harvest per source.
export const catalog = httpFunction(
  lazyGroup("catalog", async () => (await import("./api/catalog.js")).catalogApi),
  { memory: "1GiB" },
);
// A rebuild streams records into the builder: bench/catalog.ts measures a peak RSS of about
// 0.8-0.9 GB for 300,000 records, so 2 GiB leaves room for the runtime and a harvest step.
export const catalogadmin = httpFunction(
  lazyGroup("catalogadmin", async () => (await import("./api/catalog.js")).catalogAdminApi),
  { memory: "2GiB", timeoutSeconds: 540 },
);
export { harvestDandi, harvestHippocampome, harvestModeldb, harvestNeuromorpho } from "./triggers/harvest.js";

// Connectomes and activity (WormWideWeb's APIs): an instance keeps the graphs it was asked for.
export const connectome = httpFunction(
  lazyGroup("connectome", async () => (await import("./api/connectome.js")).connectomeApi),
);
export const activity = httpFunction(
  lazyGroup("activity", async () => (await import("./api/activity.js")).activityApi),
);
// Scoped API keys and viewer tokens; the audit trail (issue 12).
export const keys = httpFunction(lazyGroup("keys", async () => (await import("./api/keys.js")).keysApi));
export const audit = httpFunction(lazyGroup("audit", async () => (await import("./api/audit.js")).auditApi));
// Body (neuron) annotations: each instance holds a replica of the datasets it serves (see
// docs/json-annotations.md), so it gets the memory for MANC-sized ones.
export const jsonannotations = httpFunction(
  lazyGroup("jsonannotations", async () => (await import("./api/json-annotations.js")).jsonAnnotationsApi),
  { memory: "1GiB" },
);
// Jobs (issue 14): the owner's view of long work, and the trigger that runs each new job.
export const jobs = httpFunction(lazyGroup("jobs", async () => (await import("./api/jobs.js")).jobsApi));
export { jobsRun } from "./triggers/jobs.js";
