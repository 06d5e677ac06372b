/**
 * The one HTTP client every harvester uses, so that politeness is uniform and per host:
 * a concurrency cap and a minimum spacing between request starts, a per-request timeout, retries
 * of idempotent GETs on network errors, timeouts, 429 and 5xx (and truncated/malformed JSON, which
 * in practice is a dropped connection) with exponential backoff and full jitter, honouring
 * `Retry-After`. Other 4xx are never retried. Certificate verification is never disabled.
 */
import https from "node:https";

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

function isWeakKeyTlsError(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: string }).code;
    if ((code && WEAK_KEY_CODES.has(code)) || /dh key too small/i.test(e.message)) return true;
  }
  return false;
}

/** A GET over node:https with the SECLEVEL=1 cipher list; used only by opted-in hosts. */
export const weakTlsFetch: FetchLike = (url, init) =>
  new Promise((resolve, reject) => {
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const req = https.get(
      url,
      { ciphers: "DEFAULT@SECLEVEL=1", headers, signal: init?.signal ?? undefined },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") h.set(k, v);
          resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 502, headers: h }));
        });
      },
    );
    req.on("error", reject);
  });

class HostGate {
  private active = 0;
  private nextStart = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly policy: HostPolicy) {}

  async acquire(sleep: (ms: number, signal?: AbortSignal) => Promise<void>, signal?: AbortSignal) {
    if (this.active >= this.policy.concurrency) await new Promise<void>((r) => this.waiters.push(r));
    this.active++;
    const wait = this.nextStart - Date.now();
    this.nextStart = Math.max(Date.now(), this.nextStart) + this.policy.minIntervalMs;
    try {
      if (wait > 0) await sleep(wait, signal);
    } catch (err) {
      this.release();
      throw err;
    }
  }

  release() {
    this.active--;
    this.waiters.shift()?.();
  }
}

export class PoliteClient {
  private readonly gates = new Map<string, HostGate>();
  private readonly weakTlsHosts = new Set<string>();
  private readonly doFetch: FetchLike;
  private readonly tlsFallbackFetch: FetchLike;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: PoliteClientOptions = {}) {
    this.doFetch = options.fetch ?? ((url, init) => fetch(url, init));
    this.tlsFallbackFetch = options.tlsFallbackFetch ?? weakTlsFetch;
    this.sleep = options.sleep ?? abortableSleep;
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
      await gate.acquire(this.sleep, signal);
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
          retryAfterMs = parseRetryAfter(res.headers.get("retry-after"), Date.now());
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
    if (this.weakTlsHosts.has(host)) return this.tlsFallbackFetch(url, init);
    try {
      return await this.doFetch(url, init);
    } catch (err) {
      if (!policy.tlsFallback || !isWeakKeyTlsError(err)) throw err;
      this.weakTlsHosts.add(host);
      return this.tlsFallbackFetch(url, init);
    }
  }

  getJson(url: string, signal?: AbortSignal): Promise<unknown> {
    return this.get(url, async (res) => JSON.parse(await res.text()) as unknown, signal);
  }

  /** Text decoded as UTF-8 (BOM removed) or Latin-1, as some published CSVs are. */
  getText(url: string, signal?: AbortSignal, encoding: "utf-8" | "latin1" = "utf-8"): Promise<string> {
    return this.get(
      url,
      async (res) => new TextDecoder(encoding, { ignoreBOM: false }).decode(await res.arrayBuffer()),
      signal,
    );
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof UpstreamError && err.status === 404;
}
