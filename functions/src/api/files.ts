/**
 * `/v2/files`: large-file access. HEAD describes a file, GET redirects to a generation-pinned V4
 * signed URL (or returns it as JSON), `sign` signs many at once, `uploads` starts a resumable
 * upload, and the dataset root lists and searches the file catalog.
 */
import { z } from "zod";
import { sendList } from "../http/paging.js";
import { defineGroup, route } from "../http/route.js";
import { datasetId } from "../schemas/common.js";
import {
  catalogEntrySchema,
  credentialsBodySchema,
  credentialsResponseSchema,
  fileGetQuerySchema,
  listQuerySchema,
  signBodySchema,
  signedFileSchema,
  signResponseSchema,
  uploadBodySchema,
  uploadResponseSchema,
} from "../schemas/files.js";
import { catalogPages } from "../services/file-catalog.js";
import {
  createUpload,
  fileLocation,
  headFile,
  redirectMaxAge,
  signFile,
  signFiles,
  storageCredentials,
} from "../services/files.js";

const fileParams = z.object({ dataset: datasetId, path: z.array(z.string()).min(1) });
const datasetParams = z.object({ dataset: datasetId });

export const filesApi = defineGroup({
  name: "files",
  mounts: ["/v2/files"],
  routes: [
    route({
      method: "head",
      path: "/:dataset/*path",
      allow: { permission: "can_read", dataset: "dataset" },
      summary: "Size, type and entity tag of a file, as lazy HDF5 readers expect",
      description:
        "Always 200 with Content-Length, Accept-Ranges: bytes, ETag, Last-Modified, Content-Type; no body.",
      params: fileParams,
      async handler({ res, deps, params }) {
        const info = await headFile(deps, params.dataset, params.path.join("/"));
        res.status(200);
        res.setHeader("Content-Length", String(info.size));
        res.setHeader("Accept-Ranges", "bytes");
        res.setHeader("ETag", info.etag);
        res.setHeader("Last-Modified", new Date(info.updated).toUTCString());
        res.setHeader("Content-Type", info.contentType);
        res.setHeader("X-Goog-Generation", info.generation);
        res.setHeader("Cache-Control", "private, max-age=60");
        res.end();
        return undefined;
      },
    }),
    route({
      method: "get",
      path: "/:dataset/*path",
      allow: { permission: "can_read", dataset: "dataset" },
      summary: "Redirect to a signed URL of the file (or, with signed=json, the URL itself)",
      description:
        "302 to a V4 signed GET URL pinned to the file's current generation, cacheable for less than " +
        "the URL's lifetime. `?signed=json` answers `{url, size, etag, generation, contentType, expires}` instead.",
      params: fileParams,
      query: fileGetQuerySchema,
      response: signedFileSchema,
      async handler({ res, deps, params, query }) {
        const signed = await signFile(deps, params.dataset, params.path.join("/"));
        if (query.signed === "json") return signed;
        res.setHeader("Cache-Control", `private, max-age=${redirectMaxAge(deps.config.signedUrlSeconds)}`);
        res.redirect(302, signed.url);
        return undefined;
      },
    }),
    route({
      method: "post",
      path: "/:dataset/sign",
      allow: { permission: "can_read", dataset: "dataset" },
      summary: "Sign up to 100 files at once",
      description: "Body `{paths: [...]}`; paths with no object are listed under `missing`.",
      params: datasetParams,
      body: signBodySchema,
      response: signResponseSchema,
      async handler({ deps, params, body }) {
        return signFiles(deps, params.dataset, body.paths);
      },
    }),
    route({
      method: "post",
      path: "/:dataset/uploads",
      allow: { permission: "can_write_others", dataset: "dataset" },
      summary: "Start a resumable upload of one file (writers)",
      description:
        "Body `{path, contentType?}`; answers the session URL to PUT the bytes to. Needs clio_write or " +
        "dataset admin. The path is relative to the dataset's prefix and cannot leave it.",
      params: datasetParams,
      body: uploadBodySchema,
      response: uploadResponseSchema,
      async handler({ req, deps, params, body }) {
        return createUpload(deps, params.dataset, body.path, {
          contentType: body.contentType,
          origin: req.get("origin"),
        });
      },
    }),
    route({
      method: "post",
      path: "/:dataset/credentials",
      allow: { permission: "can_read", dataset: "dataset" },
      summary: "A short-lived Cloud Storage token for the dataset's files (zarr readers)",
      description:
        'Body `{access?: "read"|"write", prefix?}`. Answers an OAuth access token (at most an hour) ' +
        "downscoped by a Credential Access Boundary to the dataset's prefix in its bucket (or to " +
        "`prefix` below it), for reading objects with the Cloud Storage API directly. `write` needs " +
        "can_write_others and a prefix, and may only create new objects there.",
      params: datasetParams,
      body: credentialsBodySchema,
      response: credentialsResponseSchema,
      // Mints a token and changes nothing: a read, and cached per boundary (storage/downscope.ts).
      rateClass: "read",
      async handler({ deps, params, body, require }) {
        if (body.access === "write") await require("can_write_others", params.dataset);
        return storageCredentials(deps, params.dataset, body.access, body.prefix);
      },
    }),
    route({
      method: "get",
      path: "/:dataset",
      allow: { permission: "can_read", dataset: "dataset" },
      summary: "List or search the dataset's file catalog",
      description:
        "`prefix` narrows to a folder, `q` matches words of paths, metadata.json and NWB headers " +
        "(all words must match). Deleted files only with `deleted=true`. Pageable.",
      params: datasetParams,
      query: listQuerySchema,
      response: z.array(catalogEntrySchema),
      async handler({ res, deps, params, query }) {
        await fileLocation(deps, params.dataset);
        await sendList(res, {
          shape: "array",
          read: catalogPages(deps.db, params.dataset, {
            prefix: query.prefix,
            q: query.q,
            includeDeleted: query.deleted === "true",
          }),
          limit: query.limit,
          cursor: query.cursor,
        });
        return undefined;
      },
    }),
  ],
});
