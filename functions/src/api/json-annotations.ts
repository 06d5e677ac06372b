/**
 * `/v2/json-annotations/{dataset}/neurons`: body ("neuron") annotations as clio serves them
 * (clio-clients.md §c). Bodies are parsed here with exact uint64 ids, not by the shared JSON
 * parser; responses are written with ids as their exact digits.
 */
import type { Request, Response } from "express";
import { z } from "zod";
import { notFound } from "../errors.js";
import { defineGroup, route, type ApiGroup, type Ctx } from "../http/route.js";
import {
  idNumberParams,
  neuronsParams,
  oneIdParams,
  readQuery,
  recordsOut,
  tagParams,
  uuidParams,
  versionQuery,
  versionsOut,
  writeQuery,
} from "../schemas/json-annotations.js";
import { parseExactJson } from "../services/json-annotations/exact-json.js";
import { JsonAnnotations, type DatasetHead } from "../services/json-annotations/index.js";

/** Bytes buffered before each write of a streamed list. */
const CHUNK_BYTES = 64 * 1024;

async function sendArray(res: Response, parts: Iterable<string>): Promise<void> {
  res.status(200).type("application/json");
  let buffer = "[";
  let first = true;
  for (const part of parts) {
    buffer += first ? part : `,${part}`;
    first = false;
    if (buffer.length >= CHUNK_BYTES) {
      if (!res.write(buffer)) await new Promise((resolve) => res.once("drain", resolve));
      buffer = "";
    }
  }
  res.end(`${buffer}]`);
}

/** The posted body, parsed exactly from the raw bytes (ids above 2^53 stay exact). */
function exactBody(req: Request): unknown {
  return req.rawBody !== undefined ? parseExactJson(req.rawBody) : req.body;
}

async function datasetHead(ctx: Ctx, dataset: string): Promise<DatasetHead> {
  const stored = await ctx.deps.datasets.get(dataset);
  if (!stored) throw notFound(`Dataset ${dataset} does not exist`);
  return { tag: stored.tag, uuid: stored.uuid };
}

const base = "/:dataset/neurons";

/**
 * Builds the group with its own per-instance service (and replicas); index.ts builds one per
 * function instance, tests one per server.
 */
export function createJsonAnnotationsApi(): ApiGroup & { close(): Promise<void> } {
  let service: JsonAnnotations | undefined;
  const svc = (ctx: Ctx) =>
    (service ??= new JsonAnnotations({ db: ctx.deps.db, now: ctx.deps.now, log: ctx.deps.log }));

  const group = defineGroup({
    name: "jsonannotations",
    mounts: ["/v2/json-annotations"],
    routes: [
      route({
        method: "get",
        path: `${base}/fields`,
        allow: { permission: "can_read", dataset: "dataset" },
        summary: "Every field name at HEAD, stamp names (`type_user`, `type_time`) included",
        params: neuronsParams,
        query: versionQuery,
        response: z.array(z.string()),
        async handler(ctx) {
          const head = await datasetHead(ctx, ctx.params.dataset);
          return svc(ctx).fields(ctx.params.dataset, head);
        },
      }),
      route({
        method: "get",
        path: `${base}/versions`,
        allow: { permission: "can_read", dataset: "dataset" },
        summary: "Every version: `{tag: uuid}`",
        params: neuronsParams,
        query: versionQuery,
        response: versionsOut,
        async handler(ctx) {
          const head = await datasetHead(ctx, ctx.params.dataset);
          return svc(ctx).versionMap(ctx.params.dataset, head);
        },
      }),
      route({
        method: "get",
        path: `${base}/head_tag`,
        allow: { permission: "can_read", dataset: "dataset" },
        summary: "The HEAD version's tag, a JSON string",
        params: neuronsParams,
        query: versionQuery,
        response: z.string(),
        async handler(ctx) {
          const head = await datasetHead(ctx, ctx.params.dataset);
          return svc(ctx).headTag(ctx.params.dataset, head);
        },
      }),
      route({
        method: "get",
        path: `${base}/head_uuid`,
        allow: { permission: "can_read", dataset: "dataset" },
        summary: "The HEAD version's uuid, a JSON string",
        params: neuronsParams,
        query: versionQuery,
        response: z.string(),
        async handler(ctx) {
          const head = await datasetHead(ctx, ctx.params.dataset);
          return svc(ctx).headUuid(ctx.params.dataset, head);
        },
      }),
      route({
        method: "get",
        path: `${base}/tag_to_uuid/:tag`,
        allow: { permission: "can_read", dataset: "dataset" },
        summary: "The uuid of a tag",
        params: tagParams,
        query: versionQuery,
        response: z.string(),
        async handler(ctx) {
          const head = await datasetHead(ctx, ctx.params.dataset);
          return svc(ctx).tagToUuid(ctx.params.dataset, head, ctx.params.tag);
        },
      }),
      route({
        method: "get",
        path: `${base}/uuid_to_tag/:uuid`,
        allow: { permission: "can_read", dataset: "dataset" },
        summary: "The tag of a uuid (prefixes match both ways; 400 when ambiguous)",
        params: uuidParams,
        query: versionQuery,
        response: z.string(),
        async handler(ctx) {
          const head = await datasetHead(ctx, ctx.params.dataset);
          return svc(ctx).uuidToTag(ctx.params.dataset, head, ctx.params.uuid);
        },
      }),
      route({
        method: "get",
        path: `${base}/all`,
        allow: { permission: "can_read", dataset: "dataset" },
        summary: "Every record, streamed, by body id",
        description:
          "`show=none|user|time|all` picks stamp fields, `fields=a,b` the fields; `version=<tag>` reads an older version. " +
          "Records holding only `bodyid` are left out, as DVID does.",
        params: neuronsParams,
        query: readQuery,
        response: recordsOut,
        async handler(ctx) {
          const head = await datasetHead(ctx, ctx.params.dataset);
          const { version, show, fields } = ctx.query;
          await sendArray(
            ctx.res,
            await svc(ctx).all(ctx.params.dataset, head, { version, show: show ?? "none", fields }),
          );
        },
      }),
      route({
        method: "get",
        path: `${base}/id-number/:ids`,
        allow: { permission: "can_read", dataset: "dataset" },
        summary: "Records of comma-separated body ids, in the order asked; missing ids are left out",
        description:
          "`changes=true` returns each record's history instead (HEAD first, with `_user`, `_time`).",
        params: idNumberParams,
        query: readQuery,
        response: recordsOut,
        async handler(ctx) {
          const head = await datasetHead(ctx, ctx.params.dataset);
          const { version, show, fields, changes } = ctx.query;
          const projection = { show: show ?? "none", fields };
          const parts = changes
            ? await svc(ctx).changes(ctx.params.dataset, ctx.params.ids, projection)
            : await svc(ctx).byIds(ctx.params.dataset, head, ctx.params.ids, { version, ...projection });
          await sendArray(ctx.res, parts);
        },
      }),
      route({
        method: "post",
        path: `${base}/query`,
        allow: { permission: "can_read", dataset: "dataset" },
        summary: "Records matching a query, sorted by body id",
        description:
          "Body: `{field: value, …}` (all must match) or a list of them (any). A list value matches any element; " +
          "array fields match by membership; `re/<regex>` matches strings; `exists/1`/`exists/0`. `onlyid=true` " +
          "answers body ids only. Bodies may come as application/json, text/plain or with no Content-Type.",
        params: neuronsParams,
        query: readQuery,
        response: recordsOut,
        async handler(ctx) {
          const head = await datasetHead(ctx, ctx.params.dataset);
          const { version, show, fields, onlyid } = ctx.query;
          const parts = await svc(ctx).query(ctx.params.dataset, head, exactBody(ctx.req), {
            version,
            show: show ?? "none",
            fields,
            onlyid: onlyid ?? false,
          });
          await sendArray(ctx.res, parts);
        },
      }),
      route({
        method: "post",
        path: base,
        allow: { permission: "can_write_others", dataset: "dataset" },
        alsoPut: true,
        summary: "Write one record or a list (all or nothing)",
        description:
          "Merges into the stored record (`replace=true` replaces it; `conditional` is then ignored). " +
          "`conditional=f1,f2`: those fields keep a stored non-empty value. Each new or changed value gets " +
          "`<field>_user` (the caller, or `designated_user`) and `<field>_time`. Writes go to HEAD: `version` must be " +
          "absent or the current tag. Answers null.",
        params: neuronsParams,
        query: writeQuery,
        response: z.null(),
        async handler(ctx) {
          const { dataset } = ctx.params;
          const head = await datasetHead(ctx, dataset);
          const posted = svc(ctx).parse(exactBody(ctx.req));
          const { version, replace, conditional, designated_user } = ctx.query;
          await svc(ctx).write(dataset, head, posted, {
            version,
            replace: replace ?? false,
            conditional: conditional ?? [],
            stampUser: designated_user || ctx.user.email,
            writer: ctx.user.email,
          });
          return null;
        },
      }),
      route({
        method: "delete",
        path: `${base}/id-number/:id`,
        allow: { permission: "is_dataset_admin", dataset: "dataset" },
        summary: "Delete one record (dataset admins); its history is kept",
        params: oneIdParams,
        query: versionQuery,
        response: z.null(),
        async handler(ctx) {
          const head = await datasetHead(ctx, ctx.params.dataset);
          await svc(ctx).delete(ctx.params.dataset, head, ctx.params.id, ctx.user.email);
          return null;
        },
      }),
    ],
  });
  return { ...group, close: async () => service?.close() };
}

export const jsonAnnotationsApi = createJsonAnnotationsApi();
