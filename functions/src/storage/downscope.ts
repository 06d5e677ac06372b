/**
 * Downscoped Cloud Storage tokens: the runtime service account's access token, exchanged at
 * Google's Security Token Service for one limited by a Credential Access Boundary to some object
 * prefixes of one bucket (google-auth-library's DownscopedClient). A browser then reads (or writes)
 * those objects with the Cloud Storage API directly, and can do nothing else with the token.
 *
 * google-auth-library is CommonJS and costs at cold start, so it is loaded on first use.
 */
import { createRequire } from "node:module";
import type * as GoogleAuthModule from "google-auth-library";
import type { AuthClient, CredentialAccessBoundary, DownscopedClient } from "google-auth-library";
import type { Config } from "../config.js";

const require = createRequire(import.meta.url);

/** Cloud Storage roles a boundary rule may make available; the narrowest that do the job. */
export const READ_ROLE = "roles/storage.objectViewer";
/** Create new objects; no overwrite, no delete (those need objectUser). */
export const WRITE_ROLE = "roles/storage.objectCreator";

export interface Grant {
  roles: string[];
  /** Object-name prefix the rule is limited to ("" or ending with "/"). */
  prefix: string;
}

export interface DownscopedToken {
  token: string;
  expiresAt: Date;
}

/**
 * The boundary: one rule per grant, each limited by the CEL condition Google documents for
 * prefixes. The prefix is quoted into CEL, so it must not contain a quote or a backslash; object
 * paths are checked upstream (schemas/files.ts) and the check is repeated here because a
 * condition that parsed differently from what we meant would widen the token.
 */
export function accessBoundary(bucket: string, grants: Grant[]): CredentialAccessBoundary {
  return {
    accessBoundary: {
      accessBoundaryRules: grants.map((g) => {
        if (/['\\]/.test(g.prefix) || (g.prefix !== "" && !g.prefix.endsWith("/")))
          throw new Error(`Unsafe boundary prefix ${JSON.stringify(g.prefix)}`);
        return {
          availableResource: `//storage.googleapis.com/projects/_/buckets/${bucket}`,
          availablePermissions: g.roles.map((r) => `inRole:${r}`),
          // A dataset whose files are the whole bucket gets the whole bucket.
          ...(g.prefix && {
            availabilityCondition: {
              expression: `resource.name.startsWith('projects/_/buckets/${bucket}/objects/${g.prefix}')`,
            },
          }),
        };
      }),
    },
  };
}

type Exchanger = (bucket: string, grants: Grant[]) => Promise<DownscopedToken>;

/**
 * One per instance. DownscopedClients are kept per boundary (at most `MAX_CLIENTS`), so a token is
 * reused until the library's eager refresh (5 minutes before expiry) and STS sees one exchange
 * per boundary per hour rather than one per request; every caller so gets ≥ 5 minutes of use.
 */
export function downscoper(config: Pick<Config, "stsTokenUrl">): Exchanger {
  const { GoogleAuth, DownscopedClient } = require("google-auth-library") as typeof GoogleAuthModule;
  const auth = new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] });
  let source: Promise<AuthClient> | undefined;
  const clients = new Map<string, DownscopedClient>();
  const MAX_CLIENTS = 256;

  return async (bucket, grants) => {
    const boundary = accessBoundary(bucket, grants);
    const key = JSON.stringify(boundary);
    let client = clients.get(key);
    if (!client) {
      source ??= auth.getClient();
      client = new DownscopedClient({ authClient: await source, credentialAccessBoundary: boundary });
      if (config.stsTokenUrl) pointAt(client, config.stsTokenUrl);
      if (clients.size >= MAX_CLIENTS) clients.delete(clients.keys().next().value!);
      clients.set(key, client);
    }
    const { token, expirationTime } = await client.getAccessToken();
    if (!token || !expirationTime) throw new Error("STS answered no token or no expiry");
    return { token, expiresAt: new Date(expirationTime) };
  };
}

/**
 * Local runs only (STS_TOKEN_URL set): DownscopedClient (google-auth-library 10.x) builds its
 * token exchanger for the fixed URL `https://sts.${universeDomain}/v1/token` and exposes no option
 * for it (its `transporter` option does not reach the exchanger). Rather than serve TLS on a fake
 * `sts.` host name, we replace that exchanger with another instance of the library's own class
 * pointed at the loopback STS: request building, client authentication and response parsing stay
 * the library's. If an upgrade renames the field, this throws instead of silently calling Google.
 */
export function pointAt(client: DownscopedClient, tokenUrl: string): void {
  const holder = client as unknown as { stsCredential?: object };
  const current = holder.stsCredential;
  if (!current || typeof (current as { exchangeToken?: unknown }).exchangeToken !== "function")
    throw new Error("google-auth-library's DownscopedClient changed: cannot point it at STS_TOKEN_URL");
  const Sts = current.constructor as new (options: { tokenExchangeEndpoint: string }) => object;
  holder.stsCredential = new Sts({ tokenExchangeEndpoint: tokenUrl });
}
