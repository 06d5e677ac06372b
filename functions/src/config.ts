/**
 * Every setting of the backend, declared once: each entry of `settings` is a function param (name,
 * default, description) together with the zod schema its value must satisfy. From that one list
 * come the deploy-time params, the typed `Config` that `loadConfig()` resolves at run time (never
 * at import), the defaults tests get from `configSchema.parse`, and the README's settings table
 * (`npm run settings`, checked by a test).
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

/** An optional http(s) base URL param: empty means the default (Google's endpoint). */
const optionalUrl = z.union([z.literal(""), z.url({ protocol: /^https?$/ })]);

/** A string param and the schema that turns its text into the config value. */
function text<S extends z.ZodType<unknown, string>>(
  name: string,
  dflt: string,
  description: string,
  schema: S,
) {
  return {
    name,
    default: dflt,
    description,
    param: defineString(name, { default: dflt, description }),
    schema,
  };
}

/** An integer param and the schema its value must satisfy. */
function int<S extends z.ZodType<unknown, number>>(
  name: string,
  dflt: number,
  description: string,
  schema: S,
) {
  return { name, default: dflt, description, param: defineInt(name, { default: dflt, description }), schema };
}

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

export const settings = {
  urlPrefix: text(
    "URL_PREFIX",
    "",
    "Path prefix before /v2 (e.g. /api), as clio-store's URL_PREFIX.",
    z.string().regex(/^(\/[A-Za-z0-9._~-]+)*$/, { error: "URL_PREFIX must be empty or like /api" }),
  ),
  allowedOrigins: text(
    "ALLOWED_ORIGINS",
    "*",
    "Comma-separated browser origins allowed by CORS; * allows any origin.",
    commaList,
  ),
  owner: text(
    "OWNER",
    "",
    "Email that is always a global admin.",
    z.string().transform((s) => s.trim().toLowerCase()),
  ),
  tokenIssuer: text(
    "API_TOKEN_ISSUER",
    "flyem-clio-store",
    "The iss claim of API tokens issued by /v2/server/token.",
    z.string().min(1),
  ),
  tokenLifetimeSeconds: int(
    "API_TOKEN_LIFETIME_SECONDS",
    21 * 24 * 3600,
    "Lifetime of API tokens (clio: three weeks).",
    z.number().int().positive(),
  ),
  googleAudiences: text(
    "GOOGLE_AUDIENCES",
    DEFAULT_GOOGLE_AUDIENCES.join(","),
    "Comma-separated OAuth client ids accepted as aud (and azp) of Google ID tokens; empty refuses Google ID tokens.",
    commaList,
  ),
  googleCertsUrl: text(
    "GOOGLE_CERTS_URL",
    "https://www.googleapis.com/oauth2/v1/certs",
    "Where Google's ID-token signing certificates are fetched from.",
    z.url(),
  ),
  maxBodyBytes: int(
    "MAX_BODY_BYTES",
    10 * 1024 * 1024,
    "Largest accepted request body.",
    z.number().int().positive(),
  ),
  cacheSeconds: int(
    "CACHE_SECONDS",
    60,
    "How long users, datasets and revocations are cached per instance.",
    z.number().int().nonnegative(),
  ),
  filesBucket: text(
    "FILES_BUCKET",
    "",
    "Bucket of a dataset's files when its `files` field names no bucket.",
    z.string(),
  ),
  signedUrlSeconds: int(
    "SIGNED_URL_SECONDS",
    3600,
    "Lifetime of the V4 signed URLs /v2/files hands out (at most 7 days).",
    z
      .number()
      .int()
      .min(60)
      .max(7 * 24 * 3600),
  ),
  storageSignerKeyFile: text(
    "STORAGE_SIGNER_KEY_FILE",
    "",
    "Service-account key file that signs URLs locally; empty signs through IAM signBlob.",
    z.string(),
  ),
  // Services that clio-store brokers: signatures, image transfer, the neuPrint proxy.
  sigBucket: text(
    "SIG_BUCKET",
    "",
    "Bucket of image-signature blocks ({dataset}/info.json, {dataset}/blocks/*); empty: 503.",
    z.string(),
  ),
  bigqueryApiEndpoint: text(
    "BIGQUERY_API_ENDPOINT",
    "",
    "BigQuery API base URL; empty is Google's. Local runs point it at the loopback BigQuery.",
    optionalUrl,
  ),
  storageApiEndpoint: text(
    "STORAGE_API_ENDPOINT",
    "",
    "Cloud Storage API base URL; empty is Google's. Local runs point it at the loopback storage.",
    optionalUrl,
  ),
  stsTokenUrl: text(
    "STS_TOKEN_URL",
    "",
    "Token-exchange endpoint for downscoped storage credentials; empty is Google's STS. Local runs point it at the loopback STS.",
    optionalUrl,
  ),
  transferFunc: text(
    "TRANSFER_FUNC",
    "",
    "URL of the image-transfer service, also its identity-token audience; empty: 503.",
    optionalUrl,
  ),
  transferDest: text(
    "TRANSFER_DEST",
    "",
    "Bucket that image transfer writes its output volumes to; empty: 503.",
    z.string(),
  ),
  transferRole: text(
    "TRANSFER_ROLE",
    "clio_general",
    "Role (on the dataset, or global) needed to start an image transfer.",
    z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: "TRANSFER_ROLE must be a role name" }),
  ),
  transferTimeoutSeconds: int(
    "TRANSFER_TIMEOUT_SECONDS",
    60,
    "Budget of one image transfer (all eight blocks, retries included).",
    z.number().int().positive(),
  ),
  transferRetries: int(
    "TRANSFER_RETRIES",
    4,
    "Retries per transfer block after its first attempt (429 and 5xx only).",
    z.number().int().min(0).max(10),
  ),
  neuroglancerUrl: text(
    "NEUROGLANCER_URL",
    "https://neuroglancer-demo.appspot.com",
    "Neuroglancer that image-transfer links open.",
    z.url({ protocol: /^https?$/ }),
  ),
  neuprintBaseUrl: text(
    "NEUPRINT_BASE_URL",
    "",
    "Replaces https://{neuprintHTTP.server} for every dataset (local stand-ins); empty: the dataset's.",
    optionalUrl,
  ),
  neuprintTimeoutSeconds: int(
    "NEUPRINT_TIMEOUT_SECONDS",
    30,
    "How long the neuPrint proxy waits for neuPrint.",
    z.number().int().positive(),
  ),
  // The harvested catalog: sources, index lifecycle, downloads.
  neuromorphoBaseUrl: text(
    "NEUROMORPHO_BASE_URL",
    "https://neuromorpho.org",
    "NeuroMorpho.Org site root the harvester and downloads use.",
    z.url({ protocol: /^https?$/ }),
  ),
  hippocampomeBaseUrl: text(
    "HIPPOCAMPOME_BASE_URL",
    "https://hippocampome.org",
    "Hippocampome.org site root (search endpoint and published CSVs).",
    z.url({ protocol: /^https?$/ }),
  ),
  modeldbBaseUrl: text(
    "MODELDB_BASE_URL",
    "https://modeldb.science",
    "ModelDB site root (/api/v1).",
    z.url({ protocol: /^https?$/ }),
  ),
  dandiBaseUrl: text(
    "DANDI_BASE_URL",
    "https://api.dandiarchive.org",
    "DANDI Archive API root (/api/dandisets).",
    z.url({ protocol: /^https?$/ }),
  ),
  neuromorphoRegions: text(
    "NEUROMORPHO_REGIONS",
    "",
    "Comma-separated NeuroMorpho brain_region values to keep; empty: hippocampus.",
    commaList,
  ),
  hippocampomeRegions: text(
    "HIPPOCAMPOME_REGIONS",
    "",
    "Comma-separated Hippocampome subregions (DG, CA3, CA2, CA1, SUB, EC); empty: all six.",
    commaList,
  ),
  modeldbRegions: text(
    "MODELDB_REGIONS",
    "",
    "Comma-separated ModelDB region names to keep; empty: the hippocampal formation.",
    commaList,
  ),
  dandiSearch: text(
    "DANDI_SEARCH",
    "",
    "DANDI search term selecting dandisets; empty: hippocampus.",
    z.string(),
  ),
  // The sources' published files and fallbacks (the sites do not serve everything we need).
  hippocampomeSearchUrl: text(
    "HIPPOCAMPOME_SEARCH_URL",
    "",
    "Hippocampome search_engine_json.php URL; empty: {base}/php/…, then {base}/csv2db/… on 404.",
    optionalUrl,
  ),
  hippocampomeTypesCsvUrl: text(
    "HIPPOCAMPOME_TYPES_CSV_URL",
    "https://raw.githubusercontent.com/Hippocampome-Org/csv2db_import_v2/master/iconv/latin1/type.csv",
    "Hippocampome's published type table (Latin-1); the site itself does not serve one.",
    z.url({ protocol: /^https?$/ }),
  ),
  hippocampomeMarkersCsvUrl: text(
    "HIPPOCAMPOME_MARKERS_CSV_URL",
    "https://raw.githubusercontent.com/Hippocampome-Org/csv2db_import_v2/master/iconv/latin1/markerdata.csv",
    "Hippocampome's published marker evidence (Latin-1).",
    z.url({ protocol: /^https?$/ }),
  ),
  hippocampomeConnectionsCsvUrl: text(
    "HIPPOCAMPOME_CONNECTIONS_CSV_URL",
    "https://raw.githubusercontent.com/Hippocampome-Org/csv2db_import_v2/master/iconv/latin1/conndata.csv",
    "Hippocampome's published v2 connection table (Latin-1; rows kept by their Connection? flag).",
    z.url({ protocol: /^https?$/ }),
  ),
  hippocampomeMorphologyCsvUrl: text(
    "HIPPOCAMPOME_MORPHOLOGY_CSV_URL",
    "https://raw.githubusercontent.com/Hippocampome-Org/csv2db_import_v2/master/iconv/latin1/morphdata.csv",
    "Hippocampome's published morphology table: axon, dendrite and soma parcels per type (Latin-1).",
    z.url({ protocol: /^https?$/ }),
  ),
  hippocampomeEphysCsvUrl: text(
    "HIPPOCAMPOME_EPHYS_CSV_URL",
    "https://raw.githubusercontent.com/Hippocampome-Org/csv2db_import_v2/master/iconv/latin1/epdata.csv",
    "Hippocampome's published electrophysiology table: values per type and article (Latin-1).",
    z.url({ protocol: /^https?$/ }),
  ),
  dandiRedirectHosts: text(
    "DANDI_REDIRECT_HOSTS",
    "dandiarchive.s3.amazonaws.com",
    "Comma-separated hosts DANDI's download URLs may redirect to (its S3 bucket); no other is followed.",
    commaList,
  ),
  neuromorphoExtraCaPem: text(
    "NEUROMORPHO_EXTRA_CA_PEM",
    "",
    "PEM certificate(s) trusted for neuromorpho.org when its chain misses an intermediate.",
    z.string(),
  ),
  harvestContact: text(
    "HARVEST_CONTACT",
    "",
    "E-mail or URL where the sources' operators can reach whoever runs this; added to the User-Agent.",
    z
      .string()
      .max(200)
      .regex(/^[^()\r\n;]*$/, { error: "HARVEST_CONTACT: no parentheses, semicolons or line breaks" }),
  ),
  harvestIntervalHours: text(
    "HARVEST_INTERVAL_HOURS",
    "neuromorpho=168,hippocampome=24,modeldb=24,dandi=24",
    "Hours between the starts of two scheduled runs of a source, as source=hours pairs.",
    z.string().transform((s, ctx) => {
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
    }),
  ),
  harvestTimeBudgetSeconds: int(
    "HARVEST_TIME_BUDGET_SECONDS",
    480,
    "Work time of one scheduled harvest invocation; below its 540 s timeout, then it pauses.",
    z.number().int().min(10).max(500),
  ),
  harvestRequestBudgetSeconds: int(
    "HARVEST_REQUEST_BUDGET_SECONDS",
    45,
    "Work time of a harvest started by POST /v2/catalog/harvest/:source before it answers.",
    z.number().int().min(1).max(3000),
  ),
  catalogBucket: text(
    "CATALOG_BUCKET",
    "",
    "Bucket holding the catalog search index blob; empty: each instance builds its own.",
    z.string(),
  ),
  catalogIndexPrefix: text(
    "CATALOG_INDEX_PREFIX",
    "catalog/search-index/",
    "Object-name prefix of the search index blobs in CATALOG_BUCKET.",
    z.string().regex(/^([A-Za-z0-9._-]+\/)*$/, { error: "CATALOG_INDEX_PREFIX must be empty or like a/b/" }),
  ),
  catalogIndexCheckSeconds: int(
    "CATALOG_INDEX_CHECK_SECONDS",
    30,
    "How often an instance checks whether a newer search index was published.",
    z.number().int().nonnegative(),
  ),
  catalogLocalBuildMaxRecords: int(
    "CATALOG_LOCAL_BUILD_MAX_RECORDS",
    50_000,
    "Largest catalog an instance indexes itself when none is published; beyond it: 503.",
    z.number().int().nonnegative(),
  ),
  catalogDownloadMaxRecords: int(
    "CATALOG_DOWNLOAD_MAX_RECORDS",
    500,
    "Most records one catalog download may select (409 beyond).",
    z.number().int().positive(),
  ),
  catalogDownloadMaxBytes: int(
    "CATALOG_DOWNLOAD_MAX_BYTES",
    2 * 1024 * 1024 * 1024,
    "Most file bytes one catalog download may hold (413 beyond, when sizes are known).",
    z.number().int().positive(),
  ),
  catalogDownloadFileTimeoutSeconds: int(
    "CATALOG_DOWNLOAD_FILE_TIMEOUT_SECONDS",
    60,
    "How long a catalog download waits for one upstream file before listing it as failed.",
    z.number().int().positive(),
  ),
  // ---- Connectomes and activity (issue 13): path-query caps, the activity bucket ----------------
  connectomeDefaultPaths: int(
    "CONNECTOME_DEFAULT_PATHS",
    1000,
    "Paths find-paths returns when the caller sets no maxPaths (more are truncated).",
    z.number().int().min(1).max(100_000),
  ),
  connectomeMaxPaths: int(
    "CONNECTOME_MAX_PATHS",
    10000,
    "The most paths any find-paths answer holds (truncated: true beyond).",
    z.number().int().min(1).max(100_000),
  ),
  connectomeMaxSteps: int(
    "CONNECTOME_MAX_STEPS",
    2_000_000,
    "Work units (edge relaxations, enumeration steps) per dataset before find-paths says truncated.",
    z.number().int().min(1000).max(100_000_000),
  ),
  activityBucket: text(
    "ACTIVITY_BUCKET",
    "",
    "Bucket of the ingested activity traces, behaviour and encoding (/v2/activity); empty: 503.",
    z.string(),
  ),
  // ---- end connectomes and activity ------------------------------------------------------------
  // ---- Security review (issue 12): neuPrint role, upstream and list byte caps ------------------
  neuprintRole: text(
    "NEUPRINT_ROLE",
    "clio_general",
    "Role the caller must hold on the dataset itself (public does not count) to use the neuPrint proxy.",
    z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: "NEUPRINT_ROLE must be a role name" }),
  ),
  neuprintMaxResponseBytes: int(
    "NEUPRINT_MAX_RESPONSE_BYTES",
    16 * 1024 * 1024,
    "Largest neuPrint answer the proxy relays; larger answers are refused with 502.",
    z.number().int().positive(),
  ),
  listMaxBytes: int(
    "LIST_MAX_BYTES",
    8 * 1024 * 1024,
    "Most bytes of documents one list page or one streamed store read holds in memory.",
    z
      .number()
      .int()
      .min(1024 * 1024),
  ),
  // ---- end security review ---------------------------------------------------------------------
  // ---- issue 12: keys, session age, rate limits, storage caps ----
  maxSessionAgeSeconds: int(
    "MAX_SESSION_AGE_SECONDS",
    30 * 24 * 3600,
    "Oldest sign-in an API token may be renewed from; /v2/server/token refuses (401) after it.",
    z.number().int().positive(),
  ),
  keyCacheSeconds: int(
    "KEY_CACHE_SECONDS",
    30,
    "How long an instance trusts a looked-up API key or viewer token; bounds revocation delay (0-60).",
    z.number().int().min(0).max(60),
  ),
  rateLimits: text(
    "RATE_LIMITS",
    "",
    "Per-principal limits as class=count: read, write, anonymous per minute per instance (defaults " +
      "600, 120, 60), costly per UTC day across instances (200); 0 turns a class off. docs/rate-limits.md.",
    z.string().transform((s, ctx) => {
      const out = { read: 600, write: 120, anonymous: 60, costly: 200 };
      for (const pair of s
        .split(",")
        .map((p) => p.trim())
        .filter(Boolean)) {
        const m = /^(read|write|anonymous|costly)=(\d+)$/.exec(pair);
        if (!m) {
          ctx.addIssue({ code: "custom", message: `RATE_LIMITS: "${pair}" is not class=count` });
          return z.NEVER;
        }
        out[m[1] as keyof typeof out] = Number(m[2]);
      }
      return out;
    }),
  ),
  kvMaxKeysPerUser: int(
    "KV_MAX_KEYS_PER_USER",
    10_000,
    "Most KV keys one user may store across all scopes (429 past it).",
    z.number().int().positive(),
  ),
  datasetSourceHosts: text(
    "DATASET_SOURCE_HOSTS",
    "",
    "Hosts a dataset admin may point a dataset's URLs at (dvid, layer sources, …), comma-separated; " +
      "`.example.org` allows its subdomains. Empty: only global admins may add a host (security M4).",
    z.string().transform((s, ctx) => {
      const hosts = s
        .split(",")
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean);
      for (const h of hosts)
        if (!/^\.?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?$/.test(h)) {
          ctx.addIssue({ code: "custom", message: `DATASET_SOURCE_HOSTS: "${h}" is not a host name` });
          return z.NEVER;
        }
      return hosts;
    }),
  ),
  userStorageCaps: text(
    "USER_STORAGE_CAPS",
    "",
    "Most documents one user may store per dataset, as store=count: annotations (v2, default " +
      "100000), annotationsv1 (10000), atlas (10000), savedsearches (1000); 429 past it. " +
      "docs/rate-limits.md.",
    z.string().transform((s, ctx) => {
      const out = { annotations: 100_000, annotationsv1: 10_000, atlas: 10_000, savedsearches: 1_000 };
      for (const pair of s
        .split(",")
        .map((p) => p.trim())
        .filter(Boolean)) {
        const m = /^(annotations|annotationsv1|atlas|savedsearches)=([1-9]\d{0,8})$/.exec(pair);
        if (!m) {
          ctx.addIssue({
            code: "custom",
            message: `USER_STORAGE_CAPS: "${pair}" is not store=count (count ≥ 1)`,
          });
          return z.NEVER;
        }
        out[m[1] as keyof typeof out] = Number(m[2]);
      }
      return out;
    }),
  ),
};

type Settings = typeof settings;

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

function mapSettings<T>(
  pick: <K extends keyof Settings>(setting: Settings[K]) => T,
): Record<keyof Settings, T> {
  return Object.fromEntries(Object.entries(settings).map(([key, setting]) => [key, pick(setting)])) as Record<
    keyof Settings,
    T
  >;
}

/** The deploy-time params, by config key (triggers bind some, e.g. FILES_BUCKET). */
export const params = mapSettings((s) => s.param) as { [K in keyof Settings]: Settings[K]["param"] };

export const configSchema = z.object({
  projectId: z.string().min(1),
  /** Empty disables API tokens: the exchange answers 503 and such tokens are refused. */
  tokenSecret: z
    .string()
    // Security review L3: a short HS256 key can be brute-forced from one captured token.
    .refine((s) => s === "" || Buffer.byteLength(s) >= 32, {
      error: "FLYEM_SECRET must be at least 32 bytes (or empty to disable API tokens)",
    })
    .default(""),
  /** Empty: the neuPrint proxy answers 503. */
  neuprintToken: z.string().default(""),
  // Each setting's default is its param's, parsed by its own schema.
  ...(mapSettings((s) => (s.schema as z.ZodType).prefault(s.default)) as {
    [K in keyof Settings]: z.ZodPrefault<Settings[K]["schema"]>;
  }),
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
    tokenSecret: tokenSecret.value(),
    neuprintToken: boundSecret(neuprintCredentials),
    ...mapSettings((s) => s.param.value()),
  });
  return resolved;
}

/** The README's settings table, generated from `settings`. */
export function settingsTable(): string {
  const rows = Object.values(settings).map(
    (s) =>
      `| \`${s.name}\` | ${s.default === "" ? "empty" : `\`${String(s.default)}\``} | ${s.description.replaceAll("|", "\\|")} |`,
  );
  return ["| param | default | meaning |", "| --- | --- | --- |", ...rows].join("\n");
}
