/**
 * API keys (`nfk_…`) and viewer tokens (`nfv_…`): `nf<kind>_<id>_<secret>`. The id names the
 * stored document, so checking a key is one (cached) read; only SHA-256(secret) is stored, and it
 * is compared in constant time. A key resolves to its owner with the key's scope; the caller's
 * User is clamped to that scope where the request is authenticated (see resolveCaller).
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { unauthenticated } from "../errors.js";
import type { User } from "../schemas/users.js";
import { TtlCache } from "../store/cache.js";
import type { KeyStore } from "../store/keys.js";
import { ownLevel } from "./permissions.js";
import { clampUser, type Scope } from "./scope.js";
import type { Principal } from "./tokens.js";

const KEY_FORMAT = /^nf([kv])_([0-9a-f]{24})_([A-Za-z0-9_-]{43})$/;
const PREFIX = { key: "nfk", viewer: "nfv" } as const;

export type KeyKind = keyof typeof PREFIX;

/** Whether a bearer token is one of ours rather than a JWT (cheap prefix test). */
export function isKeyToken(token: string): boolean {
  return token.startsWith("nfk_") || token.startsWith("nfv_");
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** A fresh key: the string handed to the user once, its id and the hash to store. */
export function newKey(kind: KeyKind): { id: string; token: string; hash: string } {
  const id = randomBytes(12).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  return { id, token: `${PREFIX[kind]}_${id}_${secret}`, hash: hashSecret(secret) };
}

export class KeyVerifier {
  /**
   * Keys already checked, by the full key string, until the key document they were checked
   * against leaves KeyStore's cache, so revocation is seen no later; expiry is checked per request.
   */
  private readonly verified: TtlCache<string, Principal>;

  constructor(
    private readonly keys: KeyStore,
    private readonly now: () => number = Date.now,
  ) {
    this.verified = new TtlCache(keys.ttlMs, 10_000, now);
  }

  async verify(token: string): Promise<Principal> {
    const hit = this.verified.get(token);
    if (hit) {
      if (hit.exp * 1000 <= this.now()) throw unauthenticated("This key has expired");
      await this.keys.touch(hit.keyId!).catch(() => undefined);
      return hit;
    }
    const match = KEY_FORMAT.exec(token);
    if (!match) throw unauthenticated();
    const [, kindLetter, id, secret] = match as unknown as [string, string, string, string];
    const { doc, fetched } = await this.keys.lookup(id);
    if (!doc || doc.kind !== (kindLetter === "k" ? "key" : "viewer")) throw unauthenticated();
    const expected = Buffer.from(doc.hash, "hex");
    if (!timingSafeEqual(expected, Buffer.from(hashSecret(secret), "hex"))) throw unauthenticated();
    if (doc.revoked !== null) throw unauthenticated("This key has been revoked");
    if (doc.expires.getTime() <= this.now()) throw unauthenticated("This key has expired");
    // Last-used is bookkeeping (one write a minute per key and instance): its failure must not
    // fail the request.
    await this.keys.touch(id).catch(() => undefined);
    const principal: Principal = {
      email: doc.owner,
      kind: doc.kind,
      claims: {},
      exp: doc.expires.getTime() / 1000,
      keyId: id,
      scope: doc.scope,
    };
    // Trusted only as long as the document it was checked against (revocation bound).
    this.verified.set(token, principal, fetched + this.keys.ttlMs);
    return principal;
  }
}

/** The caller as permission checks must see them: the owner clamped to the key's scope. */
export function applyScope(user: User, scope: Scope | undefined): User {
  if (!scope) return user;
  return clampUser(user, scope, (dataset) => ownLevel(user, dataset, false));
}
