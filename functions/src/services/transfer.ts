/**
 * Image transfer: runs a dataset's ML model over the 256³ voxels around a point by asking the
 * transfer service (a Cloud Run URL) for eight 128³ blocks, and answers with a Neuroglancer link
 * to the precomputed volume it writes. This is what clio's `/transfer` meant to do: the body is
 * read, retries work and are bounded, and a failure is a clean error rather than a traceback.
 */
import { randomInt } from "node:crypto";
import pRetry, { AbortError } from "p-retry";
import type { Storage } from "@google-cloud/storage";
import type { GoogleAuth, IdTokenClient } from "google-auth-library";
import { ApiError, toIssues } from "../errors.js";
import { identityTokens, storageClient } from "./clients.js";
import { provide } from "./root.js";
import {
  transferDatasetSchema,
  transferRequestSchema,
  type TransferDataset,
  type TransferJob,
  type TransferRequest,
  type TransferResponse,
} from "../schemas/transfer.js";

/** Edge of the output volume and of each block, in voxels (clio's constants). */
export const VOLUME_SIZE = 256;
export const BLOCK_SIZE = 128;
export const SCALE_KEY = "8.0x8.0x8.0";

export interface TransferDeps {
  /** TRANSFER_FUNC: the transfer service URL, also the audience of its identity token. */
  transferUrl: string;
  /** TRANSFER_DEST: the bucket the output volume goes to. */
  destBucket: string;
  /** The dataset document, or undefined when there is none. */
  getDataset: (dataset: string) => Promise<unknown>;
  writeObject: (bucket: string, path: string, data: string, contentType: string) => Promise<void>;
  /** A Google-signed identity token for the audience; in production `identityTokenSource()` (gcp-clients.ts). */
  idTokenFor: (audience: string) => Promise<string>;
  fetch?: typeof fetch;
  /** Budget for the whole fan-out, retries included. */
  timeoutMs?: number;
  /** Retries per block after its first attempt. */
  retries?: number;
  /** First back-off between attempts; doubles each time. */
  retryDelayMs?: number;
  /** Base URL of the Neuroglancer the link opens. */
  neuroglancerUrl?: string;
  /** Name of the output directory; 20 random lower-case letters by default, as in clio. */
  randomName?: () => string;
}

/** `writeObject` over Cloud Storage, in one request (the objects are small). */
export function storageWriteObject(storage: Storage): TransferDeps["writeObject"] {
  return (bucket, path, data, contentType) =>
    storage.bucket(bucket).file(path).save(data, { resumable: false, contentType });
}

/** Neuroglancer precomputed `info` of the output: uint8, one 8 nm scale, 256³, raw 64³ chunks. */
export function precomputedInfo() {
  return {
    "@type": "neuroglancer_multiscale_volume",
    data_type: "uint8",
    num_channels: 1,
    scales: [
      {
        chunk_sizes: [[64, 64, 64]],
        encoding: "raw",
        key: SCALE_KEY,
        resolution: [8, 8, 8],
        size: [VOLUME_SIZE, VOLUME_SIZE, VOLUME_SIZE],
        offset: [0, 0, 0],
      },
    ],
    type: "image",
  };
}

/** The 2×2×2 block jobs around `center`, x fastest. */
export function blockJobs(
  center: [number, number, number],
  base: Omit<TransferJob, "glbstart" | "start" | "size">,
): TransferJob[] {
  const glbstart = center.map((c) => c - VOLUME_SIZE / 2) as [number, number, number];
  const jobs: TransferJob[] = [];
  for (let dz = 0; dz < VOLUME_SIZE; dz += BLOCK_SIZE) {
    for (let dy = 0; dy < VOLUME_SIZE; dy += BLOCK_SIZE) {
      for (let dx = 0; dx < VOLUME_SIZE; dx += BLOCK_SIZE) {
        jobs.push({
          ...base,
          glbstart,
          start: [glbstart[0] + dx, glbstart[1] + dy, glbstart[2] + dz],
          size: [BLOCK_SIZE, BLOCK_SIZE, BLOCK_SIZE],
        });
      }
    }
  }
  return jobs;
}

/** A Neuroglancer link with one image layer on the output volume, the same state clio links to. */
export function neuroglancerLink(base: string, bucket: string, dir: string): string {
  const state = {
    layers: [
      { type: "image", source: { url: `precomputed://gs://${bucket}/${dir}` }, tab: "source", name: "jpeg" },
    ],
    selectedLayer: { layer: "jpeg", visible: true },
  };
  return `${base.replace(/\/+$/, "")}/#!${encodeURIComponent(JSON.stringify(state))}`;
}

function randomLetters(): string {
  return Array.from({ length: 20 }, () => String.fromCharCode(97 + randomInt(26))).join("");
}

/** Identity tokens from the runtime's service account, one cached client per audience. */
export function googleIdTokens(auth: GoogleAuth): (audience: string) => Promise<string> {
  const clients = new Map<string, Promise<IdTokenClient>>();
  return async (audience) => {
    let client = clients.get(audience);
    if (!client) {
      client = auth.getIdTokenClient(audience);
      clients.set(audience, client);
      // A failed lookup (metadata server not up yet) must not fail every later transfer.
      client.catch(() => clients.delete(audience));
    }
    const headers = await (await client).getRequestHeaders();
    const value = headers.get("authorization") ?? "";
    return value.replace(/^Bearer\s+/i, "");
  };
}

/** A request that passed every check, with the dataset's image location. */
export interface CheckedTransfer {
  request: TransferRequest;
  location: string;
}

/** What a job (services/jobs/kinds.ts) adds to a transfer: progress per block, and a stop. */
export interface TransferHooks {
  /** Called as each of the eight blocks finishes. */
  onBlock?: (done: number, total: number) => void;
  /** Aborts the blocks still running; the transfer then rejects with the signal's reason. */
  signal?: AbortSignal;
}

function checkRequest(body: unknown) {
  const parsed = transferRequestSchema.safeParse(body);
  if (!parsed.success) {
    throw new ApiError(
      "invalid_argument",
      "Expected {dataset, model_name, center: [x, y, z]}",
      toIssues(parsed.error),
    );
  }
  return parsed.data;
}

export function createTransferService(deps: TransferDeps) {
  const doFetch = deps.fetch ?? fetch;

  async function dataset(name: string): Promise<TransferDataset> {
    const doc = await deps.getDataset(name);
    if (doc === undefined || doc === null) throw new ApiError("not_found", `Dataset ${name} not found`);
    const parsed = transferDatasetSchema.safeParse(doc);
    if (!parsed.success)
      throw new ApiError("failed_precondition", `Dataset ${name} has malformed transfer settings`);
    return parsed.data;
  }

  async function postBlock(job: TransferJob, token: string, signal: AbortSignal): Promise<void> {
    let response: Response;
    try {
      response = await doFetch(deps.transferUrl, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(job),
        signal,
      });
    } catch (err) {
      if (signal.aborted) throw new AbortError(err instanceof Error ? err : String(err));
      throw err;
    }
    await response.body?.cancel();
    if (response.ok) return;
    const failure = new Error(`transfer service answered ${response.status}`);
    // 429 and 5xx are worth another try; any other refusal will not change.
    if (response.status === 429 || response.status >= 500) throw failure;
    throw new AbortError(failure);
  }

  /** Everything that can be refused before any side effect: config, body, dataset, model. */
  async function check(body: unknown): Promise<CheckedTransfer> {
    if (!deps.transferUrl || !deps.destBucket) {
      throw new ApiError("unavailable", "Image transfer is not configured on this server");
    }
    const request = checkRequest(body);
    const ds = await dataset(request.dataset);
    if (!ds.transfer?.includes(request.model_name)) {
      throw new ApiError(
        "invalid_argument",
        `Model ${request.model_name} is not available for ${request.dataset}`,
        [{ path: ["model_name"], message: "not listed in the dataset's transfer models" }],
      );
    }
    const location = ds.location ?? ds.source;
    if (!location)
      throw new ApiError("failed_precondition", `Dataset ${request.dataset} has no image location`);
    return { request, location };
  }

  async function run(checked: CheckedTransfer, hooks: TransferHooks = {}): Promise<TransferResponse> {
    const { request, location } = checked;
    const dir = (deps.randomName ?? randomLetters)();
    const timeout = AbortSignal.timeout(deps.timeoutMs ?? 60_000);
    const signal = hooks.signal ? AbortSignal.any([timeout, hooks.signal]) : timeout;
    const token = await deps.idTokenFor(deps.transferUrl);
    await deps.writeObject(
      deps.destBucket,
      `${dir}/info`,
      JSON.stringify(precomputedInfo()),
      "application/json",
    );

    const jobs = blockJobs(request.center, {
      location,
      model_name: request.model_name,
      dest: `${deps.destBucket}/${dir}/${SCALE_KEY}`,
    });
    let finished = 0;
    const outcomes = await Promise.allSettled(
      jobs.map(async (job) => {
        await pRetry(() => postBlock(job, token, signal), {
          retries: deps.retries ?? 4,
          minTimeout: deps.retryDelayMs ?? 1000,
          factor: 2,
          signal,
        });
        hooks.onBlock?.(++finished, jobs.length);
      }),
    );
    const failed = outcomes.filter((o) => o.status === "rejected").length;
    if (failed > 0) {
      if (hooks.signal?.aborted) throw hooks.signal.reason;
      if (signal.aborted) {
        throw new ApiError(
          "deadline_exceeded",
          `Image transfer did not finish in time (${failed} of 8 blocks)`,
        );
      }
      throw new ApiError("bad_gateway", `The transfer service failed ${failed} of 8 blocks`);
    }
    return {
      addr: neuroglancerLink(
        deps.neuroglancerUrl ?? "https://neuroglancer-demo.appspot.com",
        deps.destBucket,
        dir,
      ),
    };
  }

  return {
    check,
    run,
    async transfer(body: unknown): Promise<TransferResponse> {
      return run(await check(body));
    },
  };
}

/** One service per instance, so the identity-token client (and its token cache) is reused. */
export const transferService = provide("transfer", (root) => {
  const { config } = root;
  return createTransferService({
    transferUrl: config.transferFunc,
    destBucket: config.transferDest,
    getDataset: (name) => root.datasets.get(name),
    writeObject: storageWriteObject(root.get(storageClient)),
    idTokenFor: root.get(identityTokens),
    timeoutMs: config.transferTimeoutSeconds * 1000,
    retries: config.transferRetries,
    neuroglancerUrl: config.neuroglancerUrl,
  });
});
