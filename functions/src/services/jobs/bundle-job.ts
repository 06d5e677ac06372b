/**
 * A catalog download as a job: the zip is written to Cloud Storage (CATALOG_BUCKET, under
 * `bundles/<job id>/`) instead of being streamed to a waiting client, and the result is a V4
 * signed URL to it (SIGNED_URL_SECONDS). Progress is per file; a cancel stops between files and
 * the unfinished upload is abandoned (a single-request upload leaves no object behind).
 */
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import { unavailable } from "../../errors.js";
import { signRead, toObjectInfo } from "../../storage/objects.js";
import { resolveSelection, streamDownload, type DownloadSelection } from "../catalog/download.js";
import { catalogInstance } from "../catalog/instance.js";
import { storageClient } from "../clients.js";
import type { Root } from "../root.js";
import type { JobContext } from "./runner.js";

export const BUNDLE_PREFIX = "bundles/";

/** The stored selection (validated by the route before the job was created). */
const selectionSchema = z.union([
  z.object({ ids: z.array(z.string()) }),
  z.object({ q: z.string(), filters: z.record(z.string(), z.array(z.string())) }),
]);

type Needs = Pick<Root, "db" | "config" | "now" | "log" | "get">;

export async function runBundleJob(root: Needs, ctx: JobContext): Promise<Record<string, unknown>> {
  const { config } = root;
  const bucket = config.catalogBucket;
  if (!bucket) throw unavailable("Catalog bundles need CATALOG_BUCKET, which is not set on this server");
  const deps = { db: root.db, config, now: root.now, log: root.log, ...root.get(catalogInstance) };
  const selection: DownloadSelection = selectionSchema.parse(ctx.input.selection);
  const resolved = await resolveSelection(deps, selection);
  const zip = streamDownload(deps, selection, resolved, {
    beforeFile: (done, total) => ctx.progress(done, total, `${done} of ${total} files`),
  });
  const storage = root.get(storageClient);
  const file = storage.bucket(bucket).file(`${BUNDLE_PREFIX}${ctx.id}/${zip.filename}`);
  try {
    await Promise.all([
      pipeline(
        zip.stream,
        file.createWriteStream({
          resumable: false,
          contentType: zip.contentType,
          metadata: { contentDisposition: `attachment; filename="${zip.filename}"` },
        }),
      ),
      zip.done,
    ]);
  } catch (err) {
    zip.abort(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
  const [meta] = await file.getMetadata();
  const info = toObjectInfo(bucket, meta);
  const expires = new Date(root.now().getTime() + config.signedUrlSeconds * 1000);
  return {
    url: await signRead(storage, info, expires),
    expires: expires.toISOString(),
    filename: zip.filename,
    size: info.size,
    records: resolved.records.length,
    notFound: resolved.notFound,
  };
}
