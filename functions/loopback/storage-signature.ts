/**
 * Server-side check of Cloud Storage V4 signed URLs (GOOG4-RSA-SHA256, query-string form).
 *
 * Faithful to GCS for what @google-cloud/storage 7.x produces: the canonical request is rebuilt
 * the way `signer.js` builds it (method, `/bucket/object` path percent-encoded per segment, every
 * query parameter except `X-Goog-Signature` encoded and sorted, the signed headers in order, and
 * `UNSIGNED-PAYLOAD` unless `x-goog-content-sha256` was signed). The `host` header is taken without
 * its port, because the signer signs `URL.hostname`. A URL signed for GET may also be used for HEAD,
 * as GCS allows. Not implemented: HMAC (GOOG4-HMAC-SHA256) keys, signed POST policies, V2 URLs.
 */
import crypto from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/** A rejected signature: the GCS XML error code and message to answer with. */
export class SignatureError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, string> = {},
  ) {
    super(message);
  }
}

// The same escaping as @google-cloud/storage's util.encodeURI: everything but A-Z a-z 0-9 ~ - . _
function fixedEncodeURIComponent(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

export function encodePath(s: string, encodeSlash: boolean): string {
  return s
    .split("/")
    .map(fixedEncodeURIComponent)
    .join(encodeSlash ? "%2F" : "/");
}

const MAX_EXPIRES_SECONDS = 7 * 24 * 3600;

function parseGoogDate(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se] = m.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, se);
}

export interface SignedRequest {
  method: string;
  bucket: string;
  object?: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
}

export interface VerifiedSignature {
  clientEmail: string;
  signedMethod: string;
  expiresAt: Date;
}

/** Builds the canonical request and string-to-sign for a given method, as the signer did. */
export function stringToSign(
  req: SignedRequest,
  method: string,
): { canonicalRequest: string; stringToSign: string } {
  const q = req.query;
  const params: [string, string][] = [];
  for (const [k, v] of q)
    if (k !== "X-Goog-Signature") params.push([encodePath(k, true), encodePath(v, true)]);
  params.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const canonicalQuery = params.map(([k, v]) => `${k}=${v}`).join("&");

  const signedHeaders = q.get("X-Goog-SignedHeaders") ?? "";
  const headerLines = signedHeaders
    .split(";")
    .filter(Boolean)
    .map((name) => {
      let value: string;
      if (name === "host") {
        value = new URL(`http://${req.headers.host ?? ""}`).hostname;
      } else {
        const raw = req.headers[name];
        value = Array.isArray(raw) ? raw.join(",") : (raw ?? "");
      }
      return `${name}:${value.trim().replace(/\s{2,}/g, " ")}\n`;
    })
    .join("");
  const sha = signedHeaders.split(";").includes("x-goog-content-sha256")
    ? String(req.headers["x-goog-content-sha256"] ?? "")
    : "UNSIGNED-PAYLOAD";
  const path =
    req.object === undefined ? `/${req.bucket}` : `/${req.bucket}/${encodePath(req.object, false)}`;
  const canonicalRequest = [method, path, canonicalQuery, headerLines, signedHeaders, sha].join("\n");

  const credential = q.get("X-Goog-Credential") ?? "";
  const scope = credential.slice(credential.indexOf("/") + 1);
  const hash = crypto.createHash("sha256").update(canonicalRequest).digest("hex");
  return {
    canonicalRequest,
    stringToSign: ["GOOG4-RSA-SHA256", q.get("X-Goog-Date") ?? "", scope, hash].join("\n"),
  };
}

/**
 * Verifies a V4 signed request against the known signers' public keys, or throws SignatureError.
 * GCS answers an expired URL with 400 ExpiredToken; this server answers 403 (same code and body)
 * so that every refused signed URL is a 403 to callers, as the project's contract states.
 */
export function verifyV4(
  req: SignedRequest,
  publicKeys: Record<string, string>,
  now = Date.now(),
): VerifiedSignature {
  const q = req.query;
  const algorithm = q.get("X-Goog-Algorithm");
  const credential = q.get("X-Goog-Credential");
  const date = q.get("X-Goog-Date");
  const expires = q.get("X-Goog-Expires");
  const signedHeaders = q.get("X-Goog-SignedHeaders");
  const signature = q.get("X-Goog-Signature") ?? "";
  if (algorithm !== "GOOG4-RSA-SHA256" || !credential || !date || !expires || !signedHeaders) {
    throw new SignatureError(
      400,
      "AuthenticationRequired",
      "Missing or unsupported X-Goog-* signing parameters.",
    );
  }
  const [clientEmail, credDate, location, service, kind] = credential.split("/");
  if (
    !clientEmail ||
    credDate !== date.slice(0, 8) ||
    location !== "auto" ||
    service !== "storage" ||
    kind !== "goog4_request"
  ) {
    throw new SignatureError(
      400,
      "AuthorizationQueryParametersError",
      `Malformed X-Goog-Credential: ${credential}`,
    );
  }
  const signedAt = parseGoogDate(date);
  const lifetime = Number(expires);
  if (
    signedAt === undefined ||
    !Number.isInteger(lifetime) ||
    lifetime < 1 ||
    lifetime > MAX_EXPIRES_SECONDS
  ) {
    throw new SignatureError(
      400,
      "AuthorizationQueryParametersError",
      "Invalid X-Goog-Date or X-Goog-Expires.",
    );
  }
  const expiresAt = signedAt + lifetime * 1000;
  if (now >= expiresAt) {
    throw new SignatureError(403, "ExpiredToken", "Invalid argument.", {
      Details: `Request has expired: ${Math.floor(expiresAt / 1000)}`,
    });
  }
  const publicKey = publicKeys[clientEmail];
  if (!publicKey) {
    throw new SignatureError(403, "AccessDenied", "Access denied.", {
      Details: `The service account ${clientEmail} is unknown to this server.`,
    });
  }
  if (!signedHeaders.split(";").includes("host")) {
    throw new SignatureError(400, "AuthorizationQueryParametersError", "The host header must be signed.");
  }
  const methods = req.method === "HEAD" ? ["HEAD", "GET"] : [req.method];
  let first: ReturnType<typeof stringToSign> | undefined;
  const sig = /^[0-9a-f]+$/i.test(signature) ? Buffer.from(signature, "hex") : Buffer.alloc(0);
  for (const method of methods) {
    const built = stringToSign(req, method);
    first ??= built;
    if (sig.length > 0 && crypto.verify("RSA-SHA256", Buffer.from(built.stringToSign), publicKey, sig)) {
      return { clientEmail, signedMethod: method, expiresAt: new Date(expiresAt) };
    }
  }
  throw new SignatureError(
    403,
    "SignatureDoesNotMatch",
    "Access denied.",
    first ? { StringToSign: first.stringToSign, CanonicalRequest: first.canonicalRequest } : {},
  );
}
