/**
 * Sign-in for live listeners (issue 14, docs/live-updates.md): any credential the API accepts
 * becomes a Firebase custom token for the same email, with which a browser signs in to Firebase
 * Auth and listens to Firestore directly. What it may read is decided by firestore.rules, which
 * read the claims set here.
 *
 * The session is short-lived and revocable: `nf.exp` (at most an hour, never past the
 * credential's own expiry) ends it even though Firebase refreshes ID tokens by itself, `nf.kid`
 * lets the rules check the API key or viewer token is still alive, and `nf.iat` lets them end
 * every session minted before the user's last POST /v2/server/revoke.
 */
import { createHash } from "node:crypto";
import type { Principal } from "../auth/tokens.js";
import { ApiError, unauthenticated } from "../errors.js";
import type { User } from "../schemas/users.js";
import { tokenSigningAuth } from "../store/firebase.js";
import { provide, type Root } from "./root.js";

/** The longest a listener session lasts before the page must ask for a new token. */
export const LIVE_SESSION_SECONDS = 3600;

/** The developer claims firestore.rules read (request.auth.token.nf). */
export interface LiveClaims {
  nf: {
    /** Lower-case, as clio_users document ids. */
    email: string;
    /** The API key or viewer token the session came from, else null. */
    kid: string | null;
    /** End of the session, seconds since the epoch. */
    exp: number;
    /** When this token was minted, seconds since the epoch (revocation compares it). */
    iat: number;
    /** Whether the email is the deployment's OWNER, an admin without a clio_users document. */
    owner: boolean;
  };
}

export interface LiveToken {
  token: string;
  uid: string;
  email: string;
  expiresAt: number;
}

/**
 * Signs custom tokens: firebase-admin's Auth. Under the Auth emulator its tokens are unsigned;
 * deployed, it signs through IAM signBlob as the runtime service account, which therefore needs
 * roles/iam.serviceAccountTokenCreator on itself.
 */
export interface CustomTokenSigner {
  createCustomToken(uid: string, claims: object): Promise<string>;
}

export const customTokenSigner = provide<CustomTokenSigner>("customTokenSigner", () => ({
  createCustomToken: (uid, claims) => tokenSigningAuth().createCustomToken(uid, claims),
}));

/** A stable Firebase uid per email, so one person is one Auth user however they signed in. */
export function liveUid(email: string): string {
  return `nf_${createHash("sha256").update(email).digest("base64url").slice(0, 32)}`;
}

type Needs = Pick<Root, "config" | "now" | "get">;

export async function mintLiveToken(deps: Needs, principal: Principal, user: User): Promise<LiveToken> {
  const iat = Math.floor(deps.now().getTime() / 1000);
  const exp = Math.min(Math.floor(principal.exp), iat + LIVE_SESSION_SECONDS);
  if (exp <= iat) throw unauthenticated("The credential has expired");
  const claims: LiveClaims = {
    nf: {
      email: user.email,
      kid: principal.keyId ?? null,
      exp,
      iat,
      owner: deps.config.owner !== "" && user.email === deps.config.owner,
    },
  };
  const uid = liveUid(user.email);
  let token: string;
  try {
    token = await deps.get(customTokenSigner).createCustomToken(uid, claims);
  } catch (err) {
    // Signing is a call to IAM: its failure is our outage, not the caller's mistake.
    throw new ApiError("unavailable", "Firebase custom tokens cannot be signed right now", undefined, {
      cause: err,
    });
  }
  return { token, uid, email: user.email, expiresAt: exp };
}
