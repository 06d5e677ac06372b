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
    default: "",
    description:
      "Comma-separated OAuth client ids accepted as the aud of Google ID tokens; empty accepts any.",
  }),
  googleCertsUrl: defineString("GOOGLE_CERTS_URL", {
    default: "https://www.googleapis.com/oauth2/v1/certs",
    description: "Where Google's ID-token signing certificates are fetched from.",
  }),
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
};

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
  tokenSecret: z.string().default(""),
  googleAudiences: commaList.default([]),
  googleCertsUrl: z.url().default("https://www.googleapis.com/oauth2/v1/certs"),
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
  });
  return resolved;
}
