/**
 * Bearer-token verification for the three kinds the API accepts, and API-token issuance.
 *
 * The token's unverified `iss` only chooses the verifier; each verifier then checks signature,
 * algorithm, issuer and expiry itself, so a token cannot pick a weaker check (alg "none", an
 * RS256 token re-signed with HS256 using the public key, a forged issuer all fail somewhere).
 */
import { OAuth2Client } from "google-auth-library";
import { decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT, type JWTPayload } from "jose";
import type { Config } from "../config.js";
import { ApiError, forbidden, unauthenticated, unavailable } from "../errors.js";
import { email } from "../schemas/common.js";
import { firebaseAuth } from "../store/firebase.js";
import { TtlCache } from "../store/cache.js";
import type { TokenStateStore } from "../store/token-state.js";
import type { Scope } from "./scope.js";

/** "key" and "viewer": API keys and viewer tokens (auth/keys.ts), always scoped. */
export type TokenKind = "api" | "google" | "firebase" | "key" | "viewer";

export interface Principal {
  email: string;
  kind: TokenKind;
  /** The verified claims; for Google tokens these become `google_idinfo`. */
  claims: Record<string, unknown>;
  /** Expiry, seconds since the epoch. */
  exp: number;
  /** For API keys and viewer tokens: the key's id and scope (auth/keys.ts, auth/scope.ts). */
  keyId?: string;
  scope?: Scope;
}

const GOOGLE_ISSUERS = ["accounts.google.com", "https://accounts.google.com"];
const FIREBASE_ISSUER_PREFIX = "https://securetoken.google.com/";
/** Google claims copied into API tokens (clio-store's whitelist); never `aud`. */
export const PROFILE_CLAIMS = [
  "hd",
  "email_verified",
  "name",
  "picture",
  "given_name",
  "family_name",
  "locale",
];
const MAX_TOKEN_LENGTH = 8192;

export class TokenVerifier {
  private readonly verified = new TtlCache<string, Principal>(3600_000, 20_000);
  private google: OAuth2Client | undefined;

  constructor(
    private readonly config: Config,
    private readonly tokenState: TokenStateStore,
    private readonly now: () => number = Date.now,
  ) {}

  async verify(token: string): Promise<Principal> {
    if (token.length > MAX_TOKEN_LENGTH) throw unauthenticated();
    let principal = this.verified.get(token);
    if (!principal) {
      principal = await this.verifyUncached(token);
      // Firebase accounts can be disabled or revoked at any time: re-check them every
      // CACHE_SECONDS rather than trusting one verification until the token expires.
      const until = principal.exp * 1000;
      this.verified.set(
        token,
        principal,
        principal.kind === "firebase" ? Math.min(until, this.now() + this.config.cacheSeconds * 1000) : until,
      );
    }
    if (principal.kind === "api") await this.checkNotRevoked(principal);
    else await this.checkIssuedAfterRevocation(principal);
    return principal;
  }

  private async verifyUncached(token: string): Promise<Principal> {
    let issuer: unknown;
    try {
      decodeProtectedHeader(token);
      issuer = decodeJwt(token).iss;
    } catch {
      throw unauthenticated();
    }
    if (typeof issuer === "string" && GOOGLE_ISSUERS.includes(issuer)) return this.verifyGoogle(token);
    if (typeof issuer === "string" && issuer.startsWith(FIREBASE_ISSUER_PREFIX))
      return this.verifyFirebase(token);
    return this.verifyApiToken(token);
  }

  private async verifyApiToken(token: string): Promise<Principal> {
    if (!this.config.tokenSecret) throw unauthenticated();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, secretKey(this.config.tokenSecret), {
        algorithms: ["HS256"],
        issuer: this.config.tokenIssuer,
        requiredClaims: ["exp", "email"],
        currentDate: new Date(this.now()),
      }));
    } catch {
      throw unauthenticated();
    }
    const address = email.safeParse(payload.email);
    if (!address.success) throw unauthenticated();
    // clio-store did not lower-case API-token emails; we do, so one person is one user.
    return { email: address.data, kind: "api", claims: payload, exp: payload.exp ?? 0 };
  }

  private async verifyGoogle(token: string): Promise<Principal> {
    if (decodeProtectedHeader(token).alg !== "RS256") throw unauthenticated();
    this.google ??= new OAuth2Client({
      endpoints: { oauth2FederatedSignonPemCertsUrl: this.config.googleCertsUrl },
    });
    // Fail closed (security review H1): google-auth-library skips the aud check when no audience
    // is given, so an empty allow-list must refuse, never mean "any app's token".
    const audiences = this.config.googleAudiences;
    if (audiences.length === 0) {
      throw unauthenticated("Google ID tokens are not accepted here: GOOGLE_AUDIENCES is empty");
    }
    let claims: Record<string, unknown>;
    try {
      const ticket = await this.google.verifyIdToken({ idToken: token, audience: audiences });
      claims = { ...ticket.getPayload() };
    } catch (err) {
      // Not reaching Google's certificates says nothing about the token: that is our outage.
      if (err instanceof Error && /retrieve verification certificates/i.test(err.message)) {
        throw new ApiError("unavailable", "Google ID tokens cannot be verified right now", undefined, {
          cause: err,
        });
      }
      throw unauthenticated();
    }
    // The authorised party, when present, is the client the token was issued to: it must be one
    // of ours too, or a token another app obtained on our audience's behalf would pass.
    if (claims.azp !== undefined && !(typeof claims.azp === "string" && audiences.includes(claims.azp))) {
      throw unauthenticated("The Google ID token was issued to a client (azp) not in GOOGLE_AUDIENCES");
    }
    return principalFromVerifiedClaims(claims, "google");
  }

  private async verifyFirebase(token: string): Promise<Principal> {
    let claims: Record<string, unknown>;
    try {
      claims = { ...(await firebaseAuth().verifyIdToken(token, true)) };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === "auth/internal-error" || code === "app/network-error" || code === "app/network-timeout") {
        throw new ApiError("unavailable", "Firebase ID tokens cannot be verified right now", undefined, {
          cause: err,
        });
      }
      throw unauthenticated();
    }
    return principalFromVerifiedClaims(claims, "firebase");
  }

  private async checkNotRevoked(principal: Principal): Promise<void> {
    const gen = typeof principal.claims.gen === "number" ? principal.claims.gen : 0;
    if (gen < (await this.tokenState.generation(principal.email)))
      throw unauthenticated("Token has been revoked");
  }

  /**
   * Google and Firebase ID tokens cannot be revoked at their issuer from here, so one issued
   * before the user's last `/v2/server/revoke` is refused (security review L10): a stolen ID token
   * can no longer mint fresh API tokens after a revocation.
   */
  private async checkIssuedAfterRevocation(principal: Principal): Promise<void> {
    const iat = typeof principal.claims.iat === "number" ? principal.claims.iat : 0;
    if (iat < (await this.tokenState.revokedAtSeconds(principal.email)))
      throw unauthenticated("Token has been revoked");
  }

  /** Issues an API token for `principal` (clio's FlyEM token). */
  async issue(principal: Principal): Promise<string> {
    if (!this.config.tokenSecret)
      throw unavailable("API tokens are not configured on this server (FLYEM_SECRET)");
    // A scoped key must not turn into an unscoped token.
    if (principal.kind === "key" || principal.kind === "viewer")
      throw forbidden("API keys and viewer tokens cannot be exchanged for an API token");
    // L2: a renewed token keeps the start of the sign-in it descends from; past the maximum
    // session age the caller must sign in with Google or Firebase again.
    const started = sessionStart(principal, this.now());
    if (this.now() - started * 1000 > this.config.maxSessionAgeSeconds * 1000)
      throw unauthenticated(
        "This session is older than MAX_SESSION_AGE_SECONDS; sign in with Google or Firebase again",
      );
    const generation = await this.tokenState.generation(principal.email);
    return signApiToken(this.config, principal.email, principal.claims, generation, this.now(), started);
  }

  forget(): void {
    this.verified.clear();
  }
}

/**
 * When the session behind `principal` started, seconds since the epoch: an API token's `sst`
 * (its `iat` for tokens issued before sessions were tracked); for a Google or Firebase ID token
 * its `iat`, since that token is fresh proof from Google (their `auth_time` may be months old).
 */
export function sessionStart(principal: Principal, nowMs: number): number {
  const { claims } = principal;
  for (const name of principal.kind === "api" ? ["sst", "iat"] : ["iat"]) {
    const value = claims[name];
    if (typeof value === "number") return value;
  }
  return Math.floor(nowMs / 1000);
}

function principalFromVerifiedClaims(claims: Record<string, unknown>, kind: TokenKind): Principal {
  const address = email.safeParse(claims.email);
  if (!address.success) throw unauthenticated("The token carries no valid email");
  if (claims.email_verified !== true) throw unauthenticated("The token's email is not verified");
  return {
    email: address.data,
    kind,
    claims,
    exp: typeof claims.exp === "number" ? claims.exp : 0,
  };
}

/**
 * Signs an API token: a compact HS256 JWT with email, iat, exp, iss, the token generation and the
 * whitelisted profile claims of `claims`.
 */
export function signApiToken(
  config: Pick<Config, "tokenSecret" | "tokenIssuer" | "tokenLifetimeSeconds">,
  email: string,
  claims: Record<string, unknown>,
  generation: number,
  nowMs: number,
  sessionStarted?: number,
): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  const profile: Record<string, unknown> = {};
  // `sst`: start of the sign-in session, carried through renewals (L2).
  profile.sst = sessionStarted ?? iat;
  for (const claim of PROFILE_CLAIMS) if (claims[claim] !== undefined) profile[claim] = claims[claim];
  return new SignJWT({ ...profile, email, gen: generation })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(config.tokenIssuer)
    .setIssuedAt(iat)
    .setExpirationTime(iat + config.tokenLifetimeSeconds)
    .sign(secretKey(config.tokenSecret));
}

function secretKey(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/** The token in `Authorization: Bearer <token>`, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1];
}
