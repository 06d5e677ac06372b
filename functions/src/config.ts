/**
 * Every setting of the backend: function params and secrets, declared once here. Handlers call
 * `loadConfig()`, which resolves them (only valid at run time, never at import) into one typed,
 * validated object; tests build that object directly with `configSchema.parse`.
 *
 * Local values live in gitignored `functions/.env.local` / `.secret.local`, written by `npm start`.
 */
import { defineInt, defineSecret, defineString } from "firebase-functions/params";
import { z } from "zod";

const commaList = z.string().transform((s) =>
  s
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v.length > 0),
);

// ---- security (issue 12, H1): default Google ID-token audiences -------------------------------
/**
 * The OAuth clients whose Google ID tokens are accepted by default. A Google ID token is meant for
 * ONE app (its `aud`); accepting any audience lets every third-party app that signs users in with
 * Google replay their tokens here (security review H1). These are the public clients that exchange
 * Google ID tokens today (../shared/reference/clio-clients.md): the Clio website, gcloud (shared by
 * every gcloud user; clio-py and neuclease use it) and malevnc. An empty GOOGLE_AUDIENCES refuses
 * Google ID tokens altogether.
 */
export const DEFAULT_GOOGLE_AUDIENCES = [
  "464281314980-qlc4o2ce8htnhhgdb0g0j681de2l3980.apps.googleusercontent.com",
  "32555940559.apps.googleusercontent.com",
  "838644154009-0e4sr9qgt3jp6k31u0m6jcsifapi62ap.apps.googleusercontent.com",
];
// ---- end security block ------------------------------------------------------------------------

export const params = {
  urlPrefix: defineString("URL_PREFIX", {
    default: "",
    description: "Path prefix before /v2 (e.g. /api), as clio-store's URL_PREFIX.",
  }),
  allowedOrigins: defineString("ALLOWED_ORIGINS", {
    default: "*",
    description: "Comma-separated browser origins allowed by CORS; * allows any origin.",
  }),
  owner: defineString("OWNER", { default: "", description: "Email that is always a global admin." }),
  tokenIssuer: defineString("API_TOKEN_ISSUER", {
    default: "flyem-clio-store",
    description: "The iss claim of API tokens issued by /v2/server/token.",
  }),
  tokenLifetimeSeconds: defineInt("API_TOKEN_LIFETIME_SECONDS", {
    default: 21 * 24 * 3600,
    description: "Lifetime of API tokens (clio: three weeks).",
  }),
  googleAudiences: defineString("GOOGLE_AUDIENCES", {
    default: DEFAULT_GOOGLE_AUDIENCES.join(","),
    description:
      "Comma-separated OAuth client ids accepted as aud (and azp) of Google ID tokens; empty refuses Google ID tokens.",
  }),
  googleCertsUrl: defineString("GOOGLE_CERTS_URL", {
    default: "https://www.googleapis.com/oauth2/v1/certs",
    description: "Where Google's ID-token signing certificates are fetched from.",
  }),
  // ---- security (issue 12): neuPrint role and upstream/list byte caps ----
  neuprintRole: defineString("NEUPRINT_ROLE", {
    default: "clio_general",
    description:
      "Role the caller must hold on the dataset itself (not via public) to use the neuPrint proxy.",
  }),
  neuprintMaxResponseBytes: defineInt("NEUPRINT_MAX_RESPONSE_BYTES", {
    default: 16 * 1024 * 1024,
    description: "Largest neuPrint answer the proxy relays; larger answers are refused with 502.",
  }),
  listMaxBytes: defineInt("LIST_MAX_BYTES", {
    default: 8 * 1024 * 1024,
    description: "Most bytes of documents one list page or one streamed read batch holds in memory.",
  }),
  // ---- end security block ----
  maxBodyBytes: defineInt("MAX_BODY_BYTES", {
    default: 10 * 1024 * 1024,
    description: "Largest accepted request body.",
  }),
  cacheSeconds: defineInt("CACHE_SECONDS", {
    default: 60,
    description: "How long users, datasets and revocations are cached per instance.",
  }),
  filesBucket: defineString("FILES_BUCKET", {
    default: "",
    description: "Bucket of a dataset's files when its `files` field names no bucket.",
  }),
  signedUrlSeconds: defineInt("SIGNED_URL_SECONDS", {
    default: 3600,
    description: "Lifetime of the V4 signed URLs /v2/files hands out (at most 7 days).",
  }),
  storageSignerKeyFile: defineString("STORAGE_SIGNER_KEY_FILE", {
    default: "",
    description: "Service-account key file that signs URLs locally; empty signs through IAM signBlob.",
  }),
  // Services that clio-store brokers: signatures, image transfer, the neuPrint proxy.
  sigBucket: defineString("SIG_BUCKET", {
    default: "",
    description: "Bucket of image-signature blocks ({dataset}/info.json, {dataset}/blocks/*); empty: 503.",
  }),
  bigqueryApiEndpoint: defineString("BIGQUERY_API_ENDPOINT", {
    default: "",
    description: "BigQuery API base URL; empty is Google's. Local runs point it at the loopback BigQuery.",
  }),
  storageApiEndpoint: defineString("STORAGE_API_ENDPOINT", {
    default: "",
    description:
      "Cloud Storage API base URL; empty is Google's. Local runs point it at the loopback storage.",
  }),
  transferFunc: defineString("TRANSFER_FUNC", {
    default: "",
    description: "URL of the image-transfer service, also its identity-token audience; empty: 503.",
  }),
  transferDest: defineString("TRANSFER_DEST", {
    default: "",
    description: "Bucket that image transfer writes its output volumes to; empty: 503.",
  }),
  transferRole: defineString("TRANSFER_ROLE", {
    default: "clio_general",
    description: "Role (on the dataset, or global) needed to start an image transfer.",
  }),
  transferTimeoutSeconds: defineInt("TRANSFER_TIMEOUT_SECONDS", {
    default: 60,
    description: "Budget of one image transfer (all eight blocks, retries included).",
  }),
  transferRetries: defineInt("TRANSFER_RETRIES", {
    default: 4,
    description: "Retries per transfer block after its first attempt (429 and 5xx only).",
  }),
  neuroglancerUrl: defineString("NEUROGLANCER_URL", {
    default: "https://neuroglancer-demo.appspot.com",
    description: "Neuroglancer that image-transfer links open.",
  }),
  neuprintBaseUrl: defineString("NEUPRINT_BASE_URL", {
    default: "",
    description:
      "Replaces https://{neuprintHTTP.server} for every dataset (local stand-ins); empty: the dataset's.",
  }),
  neuprintTimeoutSeconds: defineInt("NEUPRINT_TIMEOUT_SECONDS", {
    default: 30,
    description: "How long the neuPrint proxy waits for neuPrint.",
  }),
  // The harvested catalog (issue 5): sources, index lifecycle, downloads.
  neuromorphoBaseUrl: defineString("NEUROMORPHO_BASE_URL", {
    default: "https://neuromorpho.org",
    description: "NeuroMorpho.Org site root the harvester and downloads use.",
  }),
  hippocampomeBaseUrl: defineString("HIPPOCAMPOME_BASE_URL", {
    default: "https://hippocampome.org",
    description: "Hippocampome.org site root (search endpoint and published CSVs).",
  }),
  modeldbBaseUrl: defineString("MODELDB_BASE_URL", {
    default: "https://modeldb.science",
    description: "ModelDB site root (/api/v1).",
  }),
  dandiBaseUrl: defineString("DANDI_BASE_URL", {
    default: "https://api.dandiarchive.org",
    description: "DANDI Archive API root (/api/dandisets).",
  }),
  neuromorphoRegions: defineString("NEUROMORPHO_REGIONS", {
    default: "",
    description: "Comma-separated NeuroMorpho brain_region values to keep; empty: hippocampus.",
  }),
  hippocampomeRegions: defineString("HIPPOCAMPOME_REGIONS", {
    default: "",
    description: "Comma-separated Hippocampome subregions (DG, CA3, CA2, CA1, SUB, EC); empty: all six.",
  }),
  modeldbRegions: defineString("MODELDB_REGIONS", {
    default: "",
    description: "Comma-separated ModelDB region names to keep; empty: the hippocampal formation.",
  }),
  dandiSearch: defineString("DANDI_SEARCH", {
    default: "",
    description: "DANDI search term selecting dandisets; empty: hippocampus.",
  }),
  harvestIntervalHours: defineString("HARVEST_INTERVAL_HOURS", {
    default: "neuromorpho=168,hippocampome=24,modeldb=24,dandi=24",
    description: "Hours between the starts of two scheduled runs of a source, as source=hours pairs.",
  }),
  harvestTimeBudgetSeconds: defineInt("HARVEST_TIME_BUDGET_SECONDS", {
    default: 480,
    description: "Work time of one scheduled harvest invocation; below its 540 s timeout, then it pauses.",
  }),
  harvestRequestBudgetSeconds: defineInt("HARVEST_REQUEST_BUDGET_SECONDS", {
    default: 45,
    description: "Work time of a harvest started by POST /v2/catalog/harvest/:source before it answers.",
  }),
  catalogBucket: defineString("CATALOG_BUCKET", {
    default: "",
    description: "Bucket holding the catalog search index blob; empty: each instance builds its own.",
  }),
  catalogIndexPrefix: defineString("CATALOG_INDEX_PREFIX", {
    default: "catalog/search-index/",
    description: "Object-name prefix of the search index blobs in CATALOG_BUCKET.",
  }),
  catalogIndexCheckSeconds: defineInt("CATALOG_INDEX_CHECK_SECONDS", {
    default: 30,
    description: "How often an instance checks whether a newer search index was published.",
  }),
  catalogLocalBuildMaxRecords: defineInt("CATALOG_LOCAL_BUILD_MAX_RECORDS", {
    default: 50_000,
    description: "Largest catalog an instance indexes itself when none is published; beyond it: 503.",
  }),
  catalogDownloadMaxRecords: defineInt("CATALOG_DOWNLOAD_MAX_RECORDS", {
    default: 500,
    description: "Most records one catalog download may select (409 beyond).",
  }),
  catalogDownloadMaxBytes: defineInt("CATALOG_DOWNLOAD_MAX_BYTES", {
    default: 2 * 1024 * 1024 * 1024,
    description: "Most file bytes one catalog download may hold (413 beyond, when sizes are known).",
  }),
  catalogDownloadFileTimeoutSeconds: defineInt("CATALOG_DOWNLOAD_FILE_TIMEOUT_SECONDS", {
    default: 60,
    description: "How long a catalog download waits for one upstream file before listing it as failed.",
  }),
};

/**
 * When each source's scheduled harvest function wakes up (Cloud Scheduler cron, UTC). Not params:
 * the SDK takes a schedule only as a literal string at deploy time. Each wake-up continues a run
 * that paused on its time budget, or starts a new one once HARVEST_INTERVAL_HOURS has passed, so
 * a long NeuroMorpho run finishes within hours, not a week later. Staggered across the hour so
 * two runs rarely rebuild the index at once.
 */
export const harvestSchedules = {
  neuromorpho: "5 * * * *",
  hippocampome: "20 * * * *",
  modeldb: "35 * * * *",
  dandi: "50 * * * *",
} as const;

/** HS256 key of API tokens; clio-store's FLYEM_SECRET, shared with services that accept them. */
export const tokenSecret = defineSecret("FLYEM_SECRET");

/** Bearer token the neuPrint proxy sends upstream; bound only by the neuprint function. */
export const neuprintCredentials = defineSecret("NEUPRINT_APPLICATION_CREDENTIALS");

/**
 * A secret's value in a function that binds it, "" in the others. Every function resolves the
 * same config, and the SDK logs a warning for each unbound secret read; the runtime exposes
 * exactly the bound secrets as environment variables, so their presence says what is bound.
 */
function boundSecret(secret: ReturnType<typeof defineSecret>): string {
  return process.env[secret.name] === undefined ? "" : secret.value();
}

/** An optional http(s) base URL param: empty means the default (Google's endpoint). */
const optionalUrl = z.union([z.literal(""), z.url({ protocol: /^https?$/ })]).default("");

export const configSchema = z.object({
  projectId: z.string().min(1),
  urlPrefix: z
    .string()
    .regex(/^(\/[A-Za-z0-9._~-]+)*$/, { error: "URL_PREFIX must be empty or like /api" })
    .default(""),
  allowedOrigins: commaList.default(["*"]),
  owner: z
    .string()
    .transform((s) => s.trim().toLowerCase())
    .default(""),
  tokenIssuer: z.string().min(1).default("flyem-clio-store"),
  tokenLifetimeSeconds: z
    .number()
    .int()
    .positive()
    .default(21 * 24 * 3600),
  /** Empty disables API tokens: the exchange answers 503 and such tokens are refused. */
  tokenSecret: z
    .string()
    // Security review L3: a short HS256 key can be brute-forced from one captured token.
    .refine((s) => s === "" || Buffer.byteLength(s) >= 32, {
      error: "FLYEM_SECRET must be at least 32 bytes (or empty to disable API tokens)",
    })
    .default(""),
  googleAudiences: commaList.default(DEFAULT_GOOGLE_AUDIENCES),
  googleCertsUrl: z.url().default("https://www.googleapis.com/oauth2/v1/certs"),
  // ---- security (issue 12) ----
  neuprintRole: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: "NEUPRINT_ROLE must be a role name" })
    .default("clio_general"),
  neuprintMaxResponseBytes: z
    .number()
    .int()
    .positive()
    .default(16 * 1024 * 1024),
  listMaxBytes: z
    .number()
    .int()
    .min(1024 * 1024)
    .default(8 * 1024 * 1024),
  // ---- end security block ----
  maxBodyBytes: z
    .number()
    .int()
    .positive()
    .default(10 * 1024 * 1024),
  cacheSeconds: z.number().int().nonnegative().default(60),
  filesBucket: z.string().default(""),
  signedUrlSeconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .default(3600),
  storageSignerKeyFile: z.string().default(""),
  /** Empty: signature search answers 503. */
  sigBucket: z.string().default(""),
  bigqueryApiEndpoint: optionalUrl,
  storageApiEndpoint: optionalUrl,
  /** Empty (either): image transfer answers 503. */
  transferFunc: optionalUrl,
  transferDest: z.string().default(""),
  transferRole: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: "TRANSFER_ROLE must be a role name" })
    .default("clio_general"),
  transferTimeoutSeconds: z.number().int().positive().default(60),
  transferRetries: z.number().int().min(0).max(10).default(4),
  neuroglancerUrl: z.url({ protocol: /^https?$/ }).default("https://neuroglancer-demo.appspot.com"),
  /** Empty: the neuPrint proxy answers 503. */
  neuprintToken: z.string().default(""),
  neuprintBaseUrl: optionalUrl,
  neuprintTimeoutSeconds: z.number().int().positive().default(30),
  neuromorphoBaseUrl: z.url({ protocol: /^https?$/ }).default("https://neuromorpho.org"),
  hippocampomeBaseUrl: z.url({ protocol: /^https?$/ }).default("https://hippocampome.org"),
  modeldbBaseUrl: z.url({ protocol: /^https?$/ }).default("https://modeldb.science"),
  dandiBaseUrl: z.url({ protocol: /^https?$/ }).default("https://api.dandiarchive.org"),
  /** Empty: the source's default (the hippocampal formation). */
  neuromorphoRegions: commaList.default([]),
  hippocampomeRegions: commaList.default([]),
  modeldbRegions: commaList.default([]),
  dandiSearch: z.string().default(""),
  /** source → hours between scheduled run starts; sources not listed are never started on schedule. */
  harvestIntervalHours: z
    .string()
    .transform((s, ctx) => {
      const out: Record<string, number> = {};
      for (const pair of s
        .split(",")
        .map((p) => p.trim())
        .filter(Boolean)) {
        const m = /^([a-z]+)=(\d+(?:\.\d+)?)$/.exec(pair);
        if (!m) {
          ctx.addIssue({ code: "custom", message: `HARVEST_INTERVAL_HOURS: "${pair}" is not source=hours` });
          return z.NEVER;
        }
        out[m[1]!] = Number(m[2]);
      }
      return out;
    })
    .default({ neuromorpho: 168, hippocampome: 24, modeldb: 24, dandi: 24 }),
  /** Scheduled harvests time out at 540 s; the budget leaves room to checkpoint and rebuild. */
  harvestTimeBudgetSeconds: z.number().int().min(10).max(500).default(480),
  harvestRequestBudgetSeconds: z.number().int().min(1).max(3000).default(45),
  /** Empty: no published index; each instance builds one from Firestore (small catalogs only). */
  catalogBucket: z.string().default(""),
  catalogIndexPrefix: z
    .string()
    .regex(/^([A-Za-z0-9._-]+\/)*$/, { error: "CATALOG_INDEX_PREFIX must be empty or like a/b/" })
    .default("catalog/search-index/"),
  catalogIndexCheckSeconds: z.number().int().nonnegative().default(30),
  catalogLocalBuildMaxRecords: z.number().int().nonnegative().default(50_000),
  catalogDownloadMaxRecords: z.number().int().positive().default(500),
  catalogDownloadMaxBytes: z
    .number()
    .int()
    .positive()
    .default(2 * 1024 * 1024 * 1024),
  catalogDownloadFileTimeoutSeconds: z.number().int().positive().default(60),
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/** The runtime's FIREBASE_CONFIG, of which only the project id matters here. */
const firebaseConfigSchema = z.looseObject({ projectId: z.string().default("") });

let resolved: Config | undefined;

/** Resolves the params of this deployment once per instance. Call only inside a handler. */
export function loadConfig(): Config {
  resolved ??= configSchema.parse({
    projectId:
      process.env.GCLOUD_PROJECT ??
      firebaseConfigSchema.parse(JSON.parse(process.env.FIREBASE_CONFIG ?? "{}")).projectId,
    urlPrefix: params.urlPrefix.value(),
    allowedOrigins: params.allowedOrigins.value(),
    owner: params.owner.value(),
    tokenIssuer: params.tokenIssuer.value(),
    tokenLifetimeSeconds: params.tokenLifetimeSeconds.value(),
    tokenSecret: tokenSecret.value(),
    googleAudiences: params.googleAudiences.value(),
    googleCertsUrl: params.googleCertsUrl.value(),
    neuprintRole: params.neuprintRole.value(),
    neuprintMaxResponseBytes: params.neuprintMaxResponseBytes.value(),
    listMaxBytes: params.listMaxBytes.value(),
    maxBodyBytes: params.maxBodyBytes.value(),
    cacheSeconds: params.cacheSeconds.value(),
    filesBucket: params.filesBucket.value(),
    signedUrlSeconds: params.signedUrlSeconds.value(),
    storageSignerKeyFile: params.storageSignerKeyFile.value(),
    sigBucket: params.sigBucket.value(),
    bigqueryApiEndpoint: params.bigqueryApiEndpoint.value(),
    storageApiEndpoint: params.storageApiEndpoint.value(),
    transferFunc: params.transferFunc.value(),
    transferDest: params.transferDest.value(),
    transferRole: params.transferRole.value(),
    transferTimeoutSeconds: params.transferTimeoutSeconds.value(),
    transferRetries: params.transferRetries.value(),
    neuroglancerUrl: params.neuroglancerUrl.value(),
    neuprintToken: boundSecret(neuprintCredentials),
    neuprintBaseUrl: params.neuprintBaseUrl.value(),
    neuprintTimeoutSeconds: params.neuprintTimeoutSeconds.value(),
    neuromorphoBaseUrl: params.neuromorphoBaseUrl.value(),
    hippocampomeBaseUrl: params.hippocampomeBaseUrl.value(),
    modeldbBaseUrl: params.modeldbBaseUrl.value(),
    dandiBaseUrl: params.dandiBaseUrl.value(),
    neuromorphoRegions: params.neuromorphoRegions.value(),
    hippocampomeRegions: params.hippocampomeRegions.value(),
    modeldbRegions: params.modeldbRegions.value(),
    dandiSearch: params.dandiSearch.value(),
    harvestIntervalHours: params.harvestIntervalHours.value(),
    harvestTimeBudgetSeconds: params.harvestTimeBudgetSeconds.value(),
    harvestRequestBudgetSeconds: params.harvestRequestBudgetSeconds.value(),
    catalogBucket: params.catalogBucket.value(),
    catalogIndexPrefix: params.catalogIndexPrefix.value(),
    catalogIndexCheckSeconds: params.catalogIndexCheckSeconds.value(),
    catalogLocalBuildMaxRecords: params.catalogLocalBuildMaxRecords.value(),
    catalogDownloadMaxRecords: params.catalogDownloadMaxRecords.value(),
    catalogDownloadMaxBytes: params.catalogDownloadMaxBytes.value(),
    catalogDownloadFileTimeoutSeconds: params.catalogDownloadFileTimeoutSeconds.value(),
  });
  return resolved;
}
