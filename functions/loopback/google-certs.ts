/**
 * Loopback stand-in for Google's ID-token certificate endpoint
 * (https://www.googleapis.com/oauth2/v1/certs): serves `{kid: PEM}` with a Cache-Control max-age,
 * exactly the shape google-auth-library's OAuth2Client fetches, and signs RS256 ID tokens with
 * the matching private key so tests and local runs exercise the production verification path.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from "jose";

export interface GoogleCertsServer {
  /** The URL to use as GOOGLE_CERTS_URL. */
  certsUrl: string;
  /** Number of certificate fetches served (to show that certificates are cached). */
  fetches(): number;
  /** Signs a Google-style ID token; claims override the defaults. */
  sign(
    claims: JWTPayload & Record<string, unknown>,
    options?: { kid?: string; key?: CryptoKey },
  ): Promise<string>;
  /** A key pair Google does not publish, for forged-signature tests. */
  strangerKey(): Promise<CryptoKey>;
  /** The published public key in PEM, e.g. for an RS256-to-HS256 confusion attack. */
  publicPem: string;
  close(): Promise<void>;
}

export const GOOGLE_KID = "loopback-google-key";

export async function startGoogleCertsServer(): Promise<GoogleCertsServer> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const publicPem = await exportSPKI(publicKey);
  let fetches = 0;
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url?.startsWith("/oauth2/v1/certs")) {
      fetches += 1;
      res.writeHead(200, {
        "content-type": "application/json; charset=UTF-8",
        "cache-control": "public, max-age=3600",
      });
      res.end(JSON.stringify({ [GOOGLE_KID]: publicPem }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    certsUrl: `http://127.0.0.1:${port}/oauth2/v1/certs`,
    fetches: () => fetches,
    publicPem,
    async sign(claims, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ email_verified: true, ...claims })
        .setProtectedHeader({ alg: "RS256", kid: options.kid ?? GOOGLE_KID, typ: "JWT" })
        .setIssuer(claims.iss ?? "https://accounts.google.com")
        .setAudience((claims.aud as string | undefined) ?? "32555940559.apps.googleusercontent.com")
        .setSubject(claims.sub ?? "1000000001")
        .setIssuedAt(claims.iat ?? now)
        .setExpirationTime(claims.exp ?? now + 3600)
        .sign(options.key ?? privateKey);
    },
    async strangerKey() {
      return (await generateKeyPair("RS256")).privateKey;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
