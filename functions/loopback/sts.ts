/**
 * Loopback Security Token Service (`POST /v1/token`): the OAuth 2.0 token exchange (RFC 8693)
 * that google-auth-library's DownscopedClient performs against sts.googleapis.com, for what
 * neurofire uses: an access token exchanged for a downscoped access token under a Credential
 * Access Boundary (the form-encoded `options` field holding `{accessBoundary:
 * {accessBoundaryRules: [{availableResource, availablePermissions, availabilityCondition}]}}`).
 *
 * Issued tokens are remembered with their boundary and expiry, so that the loopback Cloud Storage
 * (`startStorageServer({ downscoped })`) enforces them as Cloud Storage does. The boundary is
 * validated as STS validates it (1..10 rules, each with a bucket resource and `inRole:` permissions);
 * conditions are limited to the CEL forms neurofire emits, and anything else is refused here
 * rather than silently allowed later.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";
/** Prefix of the tokens this STS issues, so that storage tells them from its callers' own tokens. */
export const DOWNSCOPED_PREFIX = "ya29.loopback-downscoped.";

/** Cloud Storage's predefined roles, by the permissions an access boundary may make available. */
export const ROLE_PERMISSIONS: Record<string, readonly StoragePermission[]> = {
  "roles/storage.objectViewer": ["storage.objects.get", "storage.objects.list"],
  "roles/storage.legacyObjectReader": ["storage.objects.get"],
  "roles/storage.objectCreator": ["storage.objects.create"],
  "roles/storage.objectUser": [
    "storage.objects.get",
    "storage.objects.list",
    "storage.objects.create",
    "storage.objects.delete",
    "storage.objects.update",
  ],
  "roles/storage.objectAdmin": [
    "storage.objects.get",
    "storage.objects.list",
    "storage.objects.create",
    "storage.objects.delete",
    "storage.objects.update",
  ],
};

export type StoragePermission =
  | "storage.objects.get"
  | "storage.objects.list"
  | "storage.objects.create"
  | "storage.objects.delete"
  | "storage.objects.update"
  /** Granted by none of the object roles above: a downscoped token never reads bucket metadata. */
  | "storage.buckets.get";

/** One rule, parsed: which bucket, which permissions, and the condition as a resource-name test. */
interface Rule {
  bucket: string;
  permissions: Set<StoragePermission>;
  /** Tests the full resource name (`projects/_/buckets/B` or `projects/_/buckets/B/objects/O`). */
  condition: (resourceName: string) => boolean;
}

export interface IssuedToken {
  rules: Rule[];
  /** ms since epoch. */
  expiresAt: number;
}

export type Decision = "allow" | "deny" | "expired" | "unknown";

/** The tokens an STS issued; storage asks it about each Bearer token it is shown. */
export interface DownscopedTokens {
  /** undefined when the token is not one of ours (the caller's own token: storage trusts it). */
  decide(
    token: string,
    bucket: string,
    object: string | undefined,
    permission: StoragePermission,
  ): Decision | undefined;
}

export interface StsServer extends DownscopedTokens {
  /** `http://127.0.0.1:PORT/v1/token`, the token-exchange endpoint. */
  tokenUrl: string;
  url: string;
  /** Successful exchanges so far. */
  exchanges(): number;
  close(): Promise<void>;
}

export interface StsOptions {
  port?: number;
  /** Subject tokens accepted (what the source credential holds); default the metadata loopback's. */
  sourceTokens?: string[];
  /** Lifetime of issued tokens, seconds (Google: that of the source token, at most an hour). */
  lifetimeSeconds?: number;
  /** The clock tokens expire against (ms); tests move it. */
  now?: () => number;
}

class StsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const BUCKET_RESOURCE =
  /^\/\/storage\.googleapis\.com\/projects\/_\/buckets\/([a-z0-9][a-z0-9._-]{1,221}[a-z0-9])$/;
/** `resource.name.startsWith('…')` and `resource.name == '…'`, single-quoted, no escapes. */
const STARTS_WITH = /^resource\.name\.startsWith\('([^'\\]*)'\)$/;
const EQUALS = /^resource\.name\s*==\s*'([^'\\]*)'$/;

function parseCondition(expression: string): (name: string) => boolean {
  const alternatives = expression.split("||").map((s) => s.trim());
  const tests = alternatives.map((alt) => {
    let m = STARTS_WITH.exec(alt);
    if (m) {
      const prefix = m[1]!;
      return (name: string) => name.startsWith(prefix);
    }
    m = EQUALS.exec(alt);
    if (m) {
      const exact = m[1]!;
      return (name: string) => name === exact;
    }
    throw new StsError(400, "invalid_request", `Unsupported availability condition: ${expression}`);
  });
  return (name) => tests.some((t) => t(name));
}

function parseRule(raw: unknown): Rule {
  const r = raw as {
    availableResource?: unknown;
    availablePermissions?: unknown;
    availabilityCondition?: { expression?: unknown };
  };
  const bucket = typeof r?.availableResource === "string" && BUCKET_RESOURCE.exec(r.availableResource)?.[1];
  if (!bucket)
    throw new StsError(400, "invalid_request", "An access boundary rule names no bucket resource.");
  if (!Array.isArray(r.availablePermissions) || r.availablePermissions.length === 0)
    throw new StsError(400, "invalid_request", "An access boundary rule has no available permissions.");
  const permissions = new Set<StoragePermission>();
  for (const p of r.availablePermissions) {
    const role = typeof p === "string" && p.startsWith("inRole:") ? ROLE_PERMISSIONS[p.slice(7)] : undefined;
    if (!role) throw new StsError(400, "invalid_request", `Invalid available permission: ${String(p)}`);
    for (const perm of role) permissions.add(perm);
  }
  const expression = r.availabilityCondition?.expression;
  if (r.availabilityCondition !== undefined && typeof expression !== "string")
    throw new StsError(400, "invalid_request", "An availability condition has no expression.");
  const condition = typeof expression === "string" ? parseCondition(expression) : () => true;
  return { bucket, permissions, condition };
}

function parseBoundary(options: string | null): Rule[] {
  if (!options) throw new StsError(400, "invalid_request", "Missing options: no credential access boundary.");
  let parsed: { accessBoundary?: { accessBoundaryRules?: unknown } };
  try {
    parsed = JSON.parse(options) as typeof parsed;
  } catch {
    throw new StsError(400, "invalid_request", "options is not valid JSON.");
  }
  const rules = parsed?.accessBoundary?.accessBoundaryRules;
  if (!Array.isArray(rules) || rules.length < 1 || rules.length > 10)
    throw new StsError(400, "invalid_request", "The access boundary must have 1 to 10 rules.");
  return rules.map(parseRule);
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024) reject(new StsError(413, "invalid_request", "Request too large."));
      else chunks.push(c);
    });
    req.on("end", () => resolve(new URLSearchParams(Buffer.concat(chunks).toString("utf8"))));
    req.on("error", reject);
  });
}

export async function startStsServer(opts: StsOptions = {}): Promise<StsServer> {
  const now = opts.now ?? Date.now;
  const sources = new Set(opts.sourceTokens ?? ["loopback-access-token"]);
  const lifetime = opts.lifetimeSeconds ?? 3600;
  const issued = new Map<string, IssuedToken>();
  let exchanges = 0;

  const exchange = async (req: IncomingMessage): Promise<unknown> => {
    const url = new URL(req.url ?? "/", "http://sts");
    if (req.method !== "POST" || url.pathname !== "/v1/token")
      throw new StsError(404, "not_found", "Not found.");
    const form = await readForm(req);
    if (form.get("grant_type") !== TOKEN_EXCHANGE_GRANT)
      throw new StsError(400, "unsupported_grant_type", `Unsupported grant_type: ${form.get("grant_type")}`);
    if (form.get("subject_token_type") !== ACCESS_TOKEN_TYPE)
      throw new StsError(400, "invalid_request", "subject_token_type must be an access token.");
    const requested = form.get("requested_token_type");
    if (requested !== null && requested !== ACCESS_TOKEN_TYPE)
      throw new StsError(400, "invalid_request", `Unsupported requested_token_type: ${requested}`);
    const subject = form.get("subject_token") ?? "";
    if (!sources.has(subject))
      throw new StsError(400, "invalid_grant", "The subject token is invalid or expired.");
    const rules = parseBoundary(form.get("options"));
    const token = DOWNSCOPED_PREFIX + randomBytes(24).toString("base64url");
    issued.set(token, { rules, expiresAt: now() + lifetime * 1000 });
    exchanges++;
    return {
      access_token: token,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: "Bearer",
      expires_in: lifetime,
    };
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    exchange(req).then(
      (body) => send(res, 200, body),
      (err: unknown) => {
        req.resume();
        if (err instanceof StsError)
          send(res, err.status, { error: err.code, error_description: err.message });
        else send(res, 500, { error: "server_error", error_description: String(err) });
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    tokenUrl: `${url}/v1/token`,
    exchanges: () => exchanges,
    decide(token, bucket, object, permission) {
      if (!token.startsWith(DOWNSCOPED_PREFIX)) return undefined;
      const t = issued.get(token);
      if (!t) return "unknown";
      if (now() >= t.expiresAt) return "expired";
      const resource =
        object === undefined
          ? `projects/_/buckets/${bucket}`
          : `projects/_/buckets/${bucket}/objects/${object}`;
      const ok = t.rules.some(
        (r) => r.bucket === bucket && r.permissions.has(permission) && r.condition(resource),
      );
      return ok ? "allow" : "deny";
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const buf = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": buf.length });
  res.end(buf);
}
