/**
 * `/v2/openapi.json` and `/v2/docs`: the OpenAPI document generated from the route tables' zod
 * schemas (zod's own JSON Schema output, which is OpenAPI 3.1's dialect), and Swagger UI served
 * from the swagger-ui-dist package so the page works with no internet.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createRequire } from "node:module";
import { z } from "zod";
import { notFound } from "../errors.js";
import { defineGroup, describeAllow, route, type ApiGroup, type RouteDef } from "../http/route.js";
import { ERROR_STATUS } from "../errors.js";

/**
 * swagger-ui-dist's folder. Its index module evaluates the whole 1.5 MB UI bundle on import, which
 * the server never runs, so we only resolve where the files are.
 */
function swaggerUiDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
}

function jsonSchema(schema: z.ZodType, io: "input" | "output"): unknown {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return rest;
}

function openApiPath(mount: string, routePath: string): string {
  const joined = routePath === "/" ? mount : `${mount}${routePath}`;
  return joined.replace(/[:*]([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}");
}

function parameters(def: RouteDef): unknown[] {
  const out: unknown[] = [];
  for (const [where, schema] of [
    ["path", def.params],
    ["query", def.query],
  ] as const) {
    if (!schema) continue;
    const js = jsonSchema(schema, "input") as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, prop] of Object.entries(js.properties ?? {})) {
      out.push({
        name,
        in: where,
        required: where === "path" || (js.required ?? []).includes(name),
        schema: prop,
      });
    }
  }
  return out;
}

const errorResponse = {
  description: "Error: `{detail, code, issues?}`",
  content: {
    "application/json": {
      schema: {
        type: "object",
        required: ["detail", "code"],
        properties: {
          detail: { type: "string" },
          code: { type: "string", enum: Object.keys(ERROR_STATUS) },
          issues: { type: "array", items: { type: "object" } },
        },
      },
    },
  },
};

/** The OpenAPI 3.1 document of `groups`. */
export function buildOpenApi(groups: ApiGroup[], urlPrefix = ""): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const group of groups) {
    for (const def of group.routes) {
      const methods = def.alsoPut ? [def.method, "put"] : [def.method];
      for (const mount of group.mounts) {
        const p = urlPrefix + openApiPath(mount, def.path);
        for (const method of methods) {
          (paths[p] ??= {})[method] = {
            tags: [group.name],
            summary: def.summary,
            description: `**Who may call:** ${describeAllow(def.allow)}.${def.description ? `\n\n${def.description}` : ""}`,
            operationId: `${group.name}.${method}.${p}`,
            "x-permission":
              def.allow === "anyone" || typeof def.allow === "string" ? def.allow : describeAllow(def.allow),
            ...(def.allow === "anyone" ? { security: [{}, { bearer: [] }] } : {}),
            parameters: parameters(def),
            ...(def.body
              ? {
                  requestBody: {
                    required: true,
                    content: { "application/json": { schema: jsonSchema(def.body, "input") } },
                  },
                }
              : {}),
            responses: {
              "200": {
                description: "OK",
                ...(def.response
                  ? { content: { "application/json": { schema: jsonSchema(def.response, "output") } } }
                  : {}),
              },
              default: errorResponse,
            },
          };
        }
      }
    }
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "neurofire",
      version: "2",
      description:
        "clio-store-compatible API on Firebase. Authenticate with `Authorization: Bearer <token>`: an API token from " +
        "`POST /v2/server/token`, a Google ID token, or a Firebase Auth ID token.",
    },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } },
    security: [{ bearer: [] }],
    paths,
  };
}

const ASSETS = new Map([
  ["swagger-ui.css", "text/css"],
  ["swagger-ui-bundle.js", "text/javascript"],
  ["swagger-ui-standalone-preset.js", "text/javascript"],
]);

function docsPage(assetBase: string, specUrl: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>neurofire API</title>
<link rel="stylesheet" href="${assetBase}swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="${assetBase}swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: ${JSON.stringify(specUrl)}, dom_id: "#ui" });</script>
</body></html>`;
}

/** The docs group; `groups` are the API groups it documents. */
export function docsApi(groups: () => ApiGroup[]): ApiGroup {
  let spec: Record<string, unknown> | undefined;
  return defineGroup({
    name: "docs",
    mounts: ["/v2"],
    routes: [
      route({
        method: "get",
        path: "/openapi.json",
        allow: "anyone",
        summary: "This document",
        response: z.record(z.string(), z.unknown()),
        handler: ({ deps }) =>
          Promise.resolve((spec ??= buildOpenApi([...groups(), docsApi(() => [])], deps.config.urlPrefix))),
      }),
      route({
        method: "get",
        path: "/docs",
        allow: "anyone",
        summary: "Readable API documentation (Swagger UI)",
        handler({ req, res }) {
          // Relative links keep the page working under Hosting and under the function's own URL.
          const slash = req.originalUrl.split("?")[0]!.endsWith("/");
          res
            .type("html")
            .send(docsPage(slash ? "assets/" : "docs/assets/", slash ? "../openapi.json" : "openapi.json"));
          return Promise.resolve(undefined);
        },
      }),
      route({
        method: "get",
        path: "/docs/assets/:file",
        allow: "anyone",
        summary: "Swagger UI assets",
        params: z.object({ file: z.string() }),
        async handler({ res, params }) {
          const type = ASSETS.get(params.file);
          if (!type) throw notFound(`No asset ${params.file}`);
          res.setHeader("Cache-Control", "public, max-age=86400");
          res.type(type).send(await readFile(path.join(swaggerUiDir(), params.file)));
          return undefined;
        },
      }),
    ],
  });
}
