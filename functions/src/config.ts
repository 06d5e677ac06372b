/**
 * Every setting of the backend: function params and secrets, declared once here. Handlers call
 * `loadConfig()`, which resolves them (only valid at run time, never at import) into one typed,
 * validated object; tests build that object directly with `configSchema.parse`.
 *
 * Local values live in gitignored `functions/.env.local` / `.secret.local`, written by `npm start`.
 */
import { defineInt, defineSecret, defineString } from "firebase-functions/params";
import { z } from "zod";

const commaList = z
  .string()
  .transform((s) => s.split(",").map((v) => v.trim()).filter((v) => v.length > 0));

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
    description: "Comma-separated OAuth client ids accepted as the aud of Google ID tokens; empty accepts any.",
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
};

/** HS256 key of API tokens; clio-store's FLYEM_SECRET, shared with services that accept them. */
export const tokenSecret = defineSecret("FLYEM_SECRET");

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
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

let resolved: Config | undefined;

/** Resolves the params of this deployment once per instance. Call only inside a handler. */
export function loadConfig(): Config {
  resolved ??= configSchema.parse({
    projectId: process.env.GCLOUD_PROJECT ?? JSON.parse(process.env.FIREBASE_CONFIG ?? "{}").projectId ?? "",
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
  });
  return resolved;
}
