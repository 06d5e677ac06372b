/**
 * The one HTTP client every harvester uses, so that politeness is uniform and per host:
 * a concurrency cap and a minimum spacing between request starts, a per-request timeout, retries
 * of idempotent GETs on network errors, timeouts, 429 and 5xx (and truncated/malformed JSON, which
 * in practice is a dropped connection) with exponential backoff and full jitter, honouring
 * `Retry-After`. Other 4xx are never retried. Certificate verification is never disabled.
 */
import https from "node:https";
import { Readable } from "node:stream";
import tls from "node:tls";

export interface HostPolicy {
  /** Requests in flight at once to this host (academic servers: 1). */
  concurrency: number;
  /** Minimum milliseconds between two request starts to this host. */
  minIntervalMs: number;
  timeoutMs: number;
  /** Total attempts per request, the first included. */
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** A Retry-After longer than this fails the request instead of stalling the run. */
  maxRetryAfterMs: number;
  /**
   * Retry a TLS handshake that failed on a weak server key with OpenSSL's `DEFAULT@SECLEVEL=1`
   * cipher list (certificates still verified). neuromorpho.org needs this with OpenSSL 3; it is a
   * per-host opt-in, never a global setting, and once used it sticks for that host.
   */
  tlsFallback: boolean;
  /**
   * PEM certificates (a missing intermediate) added to the trusted roots when this host's chain
   * fails to verify; verification itself stays on. Empty: chain failures are plain errors.
   */
  extraCa: string[];
  /** A response body larger than this is refused (not retried): no upstream can exhaust memory. */
  maxBodyBytes: number;
}

export const DEFAULT_POLICY: HostPolicy = {
  concurrency: 2,
  minIntervalMs: 250,
  timeoutMs: 30_000,
  maxAttempts: 5,
  backoffBaseMs: 1_000,
  backoffMaxMs: 30_000,
  maxRetryAfterMs: 120_000,
  tlsFallback: false,
  extraCa: [],
  maxBodyBytes: 64 * 1024 * 1024,
};

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

export class UpstreamError extends Error {
  constructor(
    message: string,
    readonly url: string,
    readonly status?: number,
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "UpstreamError";
  }
}

export interface PoliteClientOptions {
  fetch?: FetchLike;
  /** Used for hosts flagged `tlsFallback` after a weak-key handshake failure. */
  tlsFallbackFetch?: FetchLike;
  userAgent?: string;
  defaultPolicy?: Partial<HostPolicy>;
  /** Keyed by host (`neuromorpho.org`, `127.0.0.1:4000`). */
  hosts?: Record<string, Partial<HostPolicy>>;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Epoch milliseconds; the spacing between request starts is measured on it (tests inject one). */
  now?: () => number;
  random?: () => number;
  /** Called before each retry; for logs and run errors. */
  onRetry?: (info: { url: string; attempt: number; delayMs: number; reason: string }) => void;
  /**
   * When set, redirects are followed by hand and only to URLs this accepts (at most 5 hops), so a
   * source host's redirect cannot make us request another host.
   */
  redirectAllowed?: (url: URL) => boolean;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

export const USER_AGENT = "neurofire-harvester/1.0 (+https://github.com/neurofire; catalog harvest)";

/** The User-Agent with the operator's contact, which polite crawlers give (review §5). */
export function userAgent(contact = ""): string {
  return contact.trim() ? USER_AGENT.replace(/\)$/, `; ${contact.trim()})`) : USER_AGENT;
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Seconds or an HTTP date, as RFC 9110 allows; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

const WEAK_KEY_CODES = new Set(["ERR_SSL_DH_KEY_TOO_SMALL", "ERR_SSL_SSL_HANDSHAKE_FAILURE"]);
/** Certificate-chain failures seen with neuromorpho.org (an intermediate not sent by the server). */
const CHAIN_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
]);

function tlsErrorKind(err: unknown): "weakKey" | "chain" | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: string }).code;
    if ((code && WEAK_KEY_CODES.has(code)) || /dh key too small/i.test(e.message)) return "weakKey";
    if (code && CHAIN_CODES.has(code)) return "chain";
  }
  return undefined;
}

export interface TlsOptions {
  ciphers?: string;
  /** Extra PEM certificates trusted besides Node's bundled roots. */
  extraCa?: string[];
}

/**
 * A GET over node:https with TLS options fetch() cannot take. The body is streamed, never
 * buffered, so large files pass through with constant memory; certificates are always verified.
 */
export function nodeHttpsFetch(options: TlsOptions): FetchLike {
  return (url, init) =>
    new Promise((resolve, reject) => {
      const headers = Object.fromEntries(new Headers(init?.headers).entries());
      const req = https.get(
        url,
        {
          headers,
          signal: init?.signal ?? undefined,
          ...(options.ciphers ? { ciphers: options.ciphers } : {}),
          ...(options.extraCa?.length ? { ca: [...tls.rootCertificates, ...options.extraCa] } : {}),
        },
        (res) => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") h.set(k, v);
          const status = res.statusCode ?? 502;
          const nullBody = status === 204 || status === 304;
          if (nullBody) res.resume();
          resolve(
            new Response(nullBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), {
              status,
              headers: h,
            }),
          );
        },
      );
      req.on("error", reject);
    });
}

/** SECLEVEL=1 cipher list, for hosts whose server key OpenSSL 3 calls too weak. */
export const weakTlsFetch: FetchLike = nodeHttpsFetch({ ciphers: "DEFAULT@SECLEVEL=1" });

/**
 * Reads a whole body, refusing one over `maxBytes` (security review M2): `Content-Length` is
 * checked first, then the stream is counted as it arrives and cancelled once it passes the cap.
 * `tooLarge` makes the caller's error (with the declared length when that was the reason).
 */
export async function readBodyCapped(
  res: Response,
  maxBytes: number,
  tooLarge: (declared?: number) => Error,
): Promise<Buffer> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge(declared);
  }
  if (!res.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

/** Reads a body up to `maxBytes`; beyond that the read stops and a non-retryable error is thrown. */
export function readCapped(res: Response, maxBytes: number, url: string): Promise<Uint8Array> {
  return readBodyCapped(res, maxBytes, (declared) =>
    declared === undefined
      ? new UpstreamError(`${url} sent more than the ${maxBytes}-byte cap`, url, res.status)
      : new UpstreamError(`${url} is ${declared} bytes, above the ${maxBytes}-byte cap`, url, res.status),
  );
}

class HostGate {
  private active = 0;
  private nextStart = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly policy: HostPolicy) {}

  async acquire(
    sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
    now: () => number,
    signal?: AbortSignal,
  ) {
    if (this.active >= this.policy.concurrency) await new Promise<void>((r) => this.waiters.push(r));
    this.active++;
    const at = now();
    const wait = this.nextStart - at;
    this.nextStart = Math.max(at, this.nextStart) + this.policy.minIntervalMs;
    try {
      if (wait > 0) await sleep(wait, signal);
    } catch (err) {
      this.release();
      throw err;
    }
  }

  release() {
    this.active--;
    // A slot held by a streaming body (`hold`) may keep the host at its cap after a release.
    if (this.active < this.policy.concurrency) this.waiters.shift()?.();
  }

  /** Keeps one slot taken until `done` settles (a body still streaming after `get` returned). */
  hold(done: Promise<void>) {
    this.active++;
    void done.finally(() => this.release());
  }
}

export class PoliteClient {
  private readonly gates = new Map<string, HostGate>();
  /** Hosts that needed TLS options fetch() cannot take; once needed, they stick for the host. */
  private readonly tlsHosts = new Map<string, TlsOptions>();
  private readonly doFetch: FetchLike;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: PoliteClientOptions = {}) {
    this.doFetch = options.fetch ?? ((url, init) => fetch(url, init));
    this.sleep = options.sleep ?? abortableSleep;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  policyFor(host: string): HostPolicy {
    return this.gate(host).policy;
  }

  private gate(host: string): HostGate {
    let gate = this.gates.get(host);
    if (!gate) {
      gate = new HostGate({
        ...DEFAULT_POLICY,
        ...this.options.defaultPolicy,
        ...this.options.hosts?.[host],
      });
      this.gates.set(host, gate);
    }
    return gate;
  }

  private backoff(policy: HostPolicy, attempt: number): number {
    const cap = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** (attempt - 1));
    return Math.round(cap * (0.5 + this.random() / 2));
  }

  /** GET with retries; `read` turns the body into a value and may throw to request a retry. */
  async get<T>(url: string, read: (res: Response) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const host = new URL(url).host;
    const gate = this.gate(host);
    const policy = gate.policy;
    for (let attempt = 1; ; attempt++) {
      let retryAfterMs: number | undefined;
      let failure: UpstreamError;
      await gate.acquire(this.sleep, this.now, signal);
      try {
        const res = await this.attempt(url, host, policy, signal);
        if (res.ok) {
          try {
            return await read(res);
          } catch (err) {
            if (err instanceof UpstreamError && !err.retryable) throw err;
            failure = new UpstreamError(
              `Unreadable response from ${url}: ${(err as Error).message}`,
              url,
              200,
              true,
            );
          }
        } else {
          await res.body?.cancel().catch(() => undefined);
          const retryable = res.status === 429 || res.status >= 500;
          failure = new UpstreamError(`${url} answered ${res.status}`, url, res.status, retryable);
          if (!retryable) throw failure;
          retryAfterMs = parseRetryAfter(res.headers.get("retry-after"), this.now());
        }
      } catch (err) {
        if (err instanceof UpstreamError) {
          if (!err.retryable) throw err;
          failure = err;
        } else if (signal?.aborted) {
          throw signal.reason as Error;
        } else {
          const timedOut = (err as Error).name === "TimeoutError";
          const reason = timedOut ? `timed out after ${policy.timeoutMs} ms` : (err as Error).message;
          failure = new UpstreamError(`${url}: ${reason}`, url, undefined, true, { cause: err });
        }
      } finally {
        gate.release();
      }
      if (attempt >= policy.maxAttempts) throw failure;
      if (retryAfterMs !== undefined && retryAfterMs > policy.maxRetryAfterMs) {
        throw new UpstreamError(
          `${url} asked to retry after ${retryAfterMs} ms; giving up`,
          url,
          failure.status,
        );
      }
      const delayMs = Math.max(retryAfterMs ?? 0, this.backoff(policy, attempt));
      this.options.onRetry?.({ url, attempt, delayMs, reason: failure.message });
      await this.sleep(delayMs, signal);
    }
  }

  private async attempt(
    url: string,
    host: string,
    policy: HostPolicy,
    signal?: AbortSignal,
  ): Promise<Response> {
    const timeout = AbortSignal.timeout(policy.timeoutMs);
    const init: RequestInit = {
      headers: {
        "user-agent": this.options.userAgent ?? USER_AGENT,
        accept: "application/json, text/csv, */*",
      },
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    };
    const allowed = this.options.redirectAllowed;
    if (!allowed) return this.fetchWithTlsFallback(url, host, policy, init);
    let current = url;
    for (let hop = 0; ; hop++) {
      const res = await this.fetchWithTlsFallback(current, new URL(current).host, policy, {
        ...init,
        redirect: "manual",
      });
      const location = res.headers.get("location");
      if (!REDIRECTS.has(res.status) || !location) return res;
      await res.body?.cancel().catch(() => undefined);
      const next = new URL(location, current);
      if (hop >= MAX_REDIRECTS || !allowed(next)) {
        throw new UpstreamError(
          `${url} redirected to ${next.host}, which is not allowed`,
          url,
          res.status,
          false,
        );
      }
      current = next.href;
    }
  }

  private async fetchWithTlsFallback(
    url: string,
    host: string,
    policy: HostPolicy,
    init: RequestInit,
  ): Promise<Response> {
    const known = this.tlsHosts.get(host);
    if (known) return this.tlsFetch(known)(url, init);
    try {
      return await this.doFetch(url, init);
    } catch (err) {
      const kind = tlsErrorKind(err);
      let tlsOptions: TlsOptions;
      if (kind === "weakKey" && policy.tlsFallback) tlsOptions = { ciphers: "DEFAULT@SECLEVEL=1" };
      else if (kind === "chain" && policy.extraCa.length) tlsOptions = { extraCa: policy.extraCa };
      else throw err;
      this.tlsHosts.set(host, tlsOptions);
      return this.tlsFetch(tlsOptions)(url, init);
    }
  }

  private tlsFetch(tlsOptions: TlsOptions): FetchLike {
    return this.options.tlsFallbackFetch ?? nodeHttpsFetch(tlsOptions);
  }

  /** The body as bytes, refused above the host's `maxBodyBytes`. */
  getBytes(url: string, signal?: AbortSignal): Promise<Uint8Array> {
    const cap = this.policyFor(new URL(url).host).maxBodyBytes;
    return this.get(url, (res) => readCapped(res, cap, url), signal);
  }

  /**
   * An open response whose body the caller streams (downloads). The host's slot stays taken until
   * the body is read to its end or cancelled, so concurrent downloads obey the concurrency cap too.
   * The host's `maxBodyBytes` holds as for buffered reads: a larger declared length is refused
   * before the body is read, and a body running past it ends in an error.
   */
  async open(url: string, signal?: AbortSignal): Promise<Response> {
    const gate = this.gate(new URL(url).host);
    const cap = gate.policy.maxBodyBytes;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const res = await this.get(
      url,
      async (r) => {
        const declared = Number(r.headers.get("content-length") ?? NaN);
        if (declared > cap) {
          await r.body?.cancel().catch(() => undefined);
          throw new UpstreamError(`${url} is ${declared} bytes, above the ${cap}-byte cap`, url, r.status);
        }
        gate.hold(held);
        return r;
      },
      signal,
    );
    if (!res.body) {
      release();
      return res;
    }
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let total = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            release();
            controller.close();
            return;
          }
          total += value.byteLength;
          if (total > cap) {
            release();
            await reader.cancel().catch(() => undefined);
            controller.error(new UpstreamError(`${url} sent more than the ${cap}-byte cap`, url, res.status));
          } else controller.enqueue(value);
        } catch (err) {
          release();
          controller.error(err);
        }
      },
      async cancel(reason) {
        release();
        await reader.cancel(reason);
      },
    });
    return new Response(body, { status: res.status, headers: res.headers });
  }

  getJson(url: string, signal?: AbortSignal): Promise<unknown> {
    const cap = this.policyFor(new URL(url).host).maxBodyBytes;
    return this.get(
      url,
      async (res) => JSON.parse(new TextDecoder().decode(await readCapped(res, cap, url))) as unknown,
      signal,
    );
  }

  /** Text decoded as UTF-8 (BOM removed) or Latin-1, as some published CSVs are. */
  getText(url: string, signal?: AbortSignal, encoding: "utf-8" | "latin1" = "utf-8"): Promise<string> {
    const cap = this.policyFor(new URL(url).host).maxBodyBytes;
    return this.get(
      url,
      async (res) => new TextDecoder(encoding, { ignoreBOM: false }).decode(await readCapped(res, cap, url)),
      signal,
    );
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof UpstreamError && err.status === 404;
}
