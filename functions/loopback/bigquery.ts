/**
 * Loopback BigQuery for tests and `npm start`, reached by the real @google-cloud/bigquery client
 * through `new BigQuery({ apiEndpoint: server.url })` (paths under /bigquery/v2) or
 * BIGQUERY_EMULATOR_HOST (the same paths without the prefix).
 *
 * Implemented faithfully, in BigQuery's REST shapes:
 * - jobs.query (POST /projects/P/queries), jobs.insert (POST /projects/P/jobs), jobs.get and
 *   jobs.getQueryResults (GET /projects/P/jobs/ID, /projects/P/queries/ID): the SQL text is
 *   EXECUTED on alasql with NAMED query parameters bound as values, and the answer is
 *   `{schema: {fields}, rows: [{f: [{v}]}], totalRows, jobComplete: true}` with every value a
 *   string, INT64 exact (values are BigInt inside the engine, decimal strings on the wire).
 * - datasets.insert/get, tables.insert/get and tabledata.insertAll, for seeding.
 * - BigQuery's error body `{error: {code, message, errors: [{reason}]}}`: 404 `notFound` for a
 *   missing dataset or table, 409 `duplicate`, 400 `invalidQuery` for SQL the engine rejects.
 *
 * The dialect is translated, not emulated: backtick table names (`ds.t`, `proj.ds.t`), `@name`
 * parameters, `UNION DISTINCT`, and `BIT_COUNT(a ^ b)` / `BIT_COUNT(a)` over INT64 with operands
 * that are columns, parameters or literals. Other BigQuery-only syntax fails as invalidQuery.
 * Not implemented: paging of results (everything is one page), auth (the client sends none to a
 * custom endpoint), locations, legacy SQL, DML, and the schema of an empty result (no fields).
 *
 * Every request is recorded (method, path, headers, parsed body) so tests can assert what the
 * client sent, e.g. that values travelled as parameters and not inside the SQL text.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import alasql from "alasql";

export interface BigQueryField {
  name: string;
  type: string;
  mode?: string;
}

/** Seed rows: INT64 values may be numbers, bigints or decimal strings. */
export interface SeedTable {
  schema: BigQueryField[];
  rows: Record<string, unknown>[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface BigQueryServer {
  /** Base URL for `apiEndpoint`. */
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** The query requests only (jobs.query and jobs.insert bodies). */
  queries(): RecordedRequest[];
  close(): Promise<void>;
}

interface QueryParameter {
  name?: string;
  parameterType: { type: string; arrayType?: { type: string } };
  parameterValue: { value?: string; arrayValues?: { value?: string }[] };
}

interface QueryResult {
  schema: { fields: BigQueryField[] };
  rows: { f: { v: string | null }[] }[];
  totalRows: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const INTEGER_TYPES = new Set(["INTEGER", "INT64"]);
const FLOAT_TYPES = new Set(["FLOAT", "FLOAT64", "NUMERIC", "BIGNUMERIC"]);
const BOOL_TYPES = new Set(["BOOLEAN", "BOOL"]);

function popcount64(v: bigint): bigint {
  let bits = BigInt.asUintN(64, v);
  let count = 0n;
  while (bits > 0n) {
    count += bits & 1n;
    bits >>= 1n;
  }
  return count;
}

function toBigInt(v: unknown): bigint | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") return v;
  if (typeof v === "number" || typeof v === "string") return BigInt(v);
  throw new HttpError(400, "invalidQuery", `BIT_COUNT expects INT64, got ${typeof v}`);
}

const fns = alasql.fn as Record<string, (...args: unknown[]) => unknown>;
fns.BQ_BIT_COUNT = (a) => {
  const v = toBigInt(a);
  return v === null ? null : popcount64(v);
};
fns.BQ_BIT_COUNT_XOR = (a, b) => {
  const x = toBigInt(a);
  const y = toBigInt(b);
  return x === null || y === null ? null : popcount64(x ^ y);
};

function convertValue(type: string, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (INTEGER_TYPES.has(type)) return BigInt(value as string | number | bigint);
  if (FLOAT_TYPES.has(type)) return Number(value);
  if (BOOL_TYPES.has(type)) return value === true || value === "true";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function paramValue(p: QueryParameter): unknown {
  if (p.parameterType.type === "ARRAY") {
    const itemType = p.parameterType.arrayType?.type ?? "STRING";
    return (p.parameterValue.arrayValues ?? []).map((v) => convertValue(itemType, v.value));
  }
  return convertValue(p.parameterType.type, p.parameterValue.value);
}

const OPERAND = String.raw`(?:\$\w+|[A-Za-z_]\w*(?:\.\w+)?|-?\d+)`;

/**
 * Rewrites the BigQuery pieces we use into alasql, outside string literals. Returns the SQL and
 * the tables it names (to answer notFound as BigQuery does, before running anything).
 */
export function translateSql(sql: string): { sql: string; tables: string[] } {
  const tables: string[] = [];
  const parts = sql.split(/('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")/);
  const out = parts.map((part, i) => {
    if (i % 2 === 1) return part;
    let s = part.replace(/`([^`]+)`/g, (_m, name: string) => {
      const pieces = name.split(".");
      const table = pieces.slice(-2).join(".");
      if (pieces.length >= 2) tables.push(table);
      return `[${table}]`;
    });
    s = s.replace(/@(\w+)/g, (_m, name: string) => `$${name}`);
    s = s.replace(/\bUNION\s+DISTINCT\b/gi, "UNION");
    s = s.replace(
      new RegExp(String.raw`\bBIT_COUNT\s*\(\s*(${OPERAND})\s*\^\s*(${OPERAND})\s*\)`, "gi"),
      (_m, a: string, b: string) => `BQ_BIT_COUNT_XOR(${a}, ${b})`,
    );
    s = s.replace(/\bBIT_COUNT\s*\(/gi, "BQ_BIT_COUNT(");
    if (s.includes("^"))
      throw new HttpError(400, "invalidQuery", "Unsupported use of ^ in the loopback engine");
    return s;
  });
  return { sql: out.join(""), tables };
}

function typeOfColumn(values: unknown[]): string {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.every((v) => typeof v === "bigint")) return "INTEGER";
  if (present.every((v) => typeof v === "number" || typeof v === "bigint")) {
    return present.every((v) => typeof v === "bigint" || Number.isInteger(v)) ? "INTEGER" : "FLOAT";
  }
  if (present.every((v) => typeof v === "boolean")) return "BOOLEAN";
  return "STRING";
}

function wireValue(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v;
  if (typeof v === "bigint" || typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

export async function startBigQueryServer(
  options: { port?: number; tables?: Record<string, SeedTable> } = {},
): Promise<BigQueryServer> {
  const db = new alasql.Database(`bq_${randomUUID().replace(/-/g, "")}`);
  const datasets = new Set<string>();
  const schemas = new Map<string, BigQueryField[]>();
  const results = new Map<string, { result: QueryResult; query: unknown }>();
  const requests: RecordedRequest[] = [];

  function createTable(dataset: string, table: string, fields: BigQueryField[]): void {
    const key = `${dataset}.${table}`;
    if (schemas.has(key)) throw new HttpError(409, "duplicate", `Already Exists: Table ${key}`);
    datasets.add(dataset);
    schemas.set(key, fields);
    db.exec(`CREATE TABLE [${key}]`);
  }

  function insertRows(key: string, rows: Record<string, unknown>[]): void {
    const fields = schemas.get(key);
    const data = (db.tables as Record<string, { data: Record<string, unknown>[] }>)[key];
    if (!fields || !data) throw new HttpError(404, "notFound", `Not found: Table ${key}`);
    for (const row of rows) {
      data.data.push(Object.fromEntries(fields.map((f) => [f.name, convertValue(f.type, row[f.name])])));
    }
  }

  for (const [key, seed] of Object.entries(options.tables ?? {})) {
    const [dataset, table] = key.split(".");
    if (!dataset || !table) throw new Error(`Seed table names must be dataset.table, got ${key}`);
    createTable(dataset, table, seed.schema);
    insertRows(key, seed.rows);
  }

  function runQuery(projectId: string, body: Record<string, unknown>, jobId: string): QueryResult {
    const query = body.query;
    if (typeof query !== "string") throw new HttpError(400, "invalid", "query is required");
    if (body.useLegacySql === true) throw new HttpError(400, "invalid", "Legacy SQL is not supported here");
    const translated = translateSql(query);
    for (const table of translated.tables) {
      if (!schemas.has(table)) {
        throw new HttpError(
          404,
          "notFound",
          `Not found: Table ${projectId}:${table} was not found in location US`,
        );
      }
    }
    const params: Record<string, unknown> = {};
    for (const p of (body.queryParameters ?? []) as QueryParameter[]) {
      if (!p.name) throw new HttpError(400, "invalid", "Only NAMED parameters are supported here");
      params[p.name] = paramValue(p);
    }
    let rows: Record<string, unknown>[];
    try {
      rows = db.exec(translated.sql, params);
    } catch (err) {
      throw new HttpError(400, "invalidQuery", `Query failed: ${(err as Error).message}`);
    }
    const names = rows.length > 0 ? Object.keys(rows[0] ?? {}) : [];
    const fields = names.map((name) => ({
      name,
      type: typeOfColumn(rows.map((r) => r[name])),
      mode: "NULLABLE",
    }));
    const result = {
      schema: { fields },
      rows: rows.map((r) => ({ f: names.map((n) => ({ v: wireValue(r[n]) })) })),
      totalRows: String(rows.length),
    };
    results.set(jobId, { result, query: body });
    return result;
  }

  function jobResource(projectId: string, jobId: string, query: unknown) {
    return {
      kind: "bigquery#job",
      id: `${projectId}:US.${jobId}`,
      jobReference: { projectId, jobId, location: "US" },
      configuration: { query, jobType: "QUERY" },
      status: { state: "DONE" },
      statistics: { query: { totalBytesProcessed: "0" } },
    };
  }

  function handle(method: string, path: string, body: Record<string, unknown>): unknown {
    const p = path.replace(/^\/bigquery\/v2/, "");
    let m: RegExpMatchArray | null;
    if ((m = p.match(/^\/projects\/([^/]+)\/datasets$/)) && method === "POST") {
      const ref = body.datasetReference as { datasetId?: string } | undefined;
      const id = ref?.datasetId;
      if (!id) throw new HttpError(400, "invalid", "datasetReference.datasetId is required");
      if (datasets.has(id)) throw new HttpError(409, "duplicate", `Already Exists: Dataset ${m[1]}:${id}`);
      datasets.add(id);
      return {
        kind: "bigquery#dataset",
        id: `${m[1]}:${id}`,
        datasetReference: { projectId: m[1], datasetId: id },
      };
    }
    if ((m = p.match(/^\/projects\/([^/]+)\/datasets\/([^/]+)$/)) && method === "GET") {
      if (!datasets.has(m[2] ?? ""))
        throw new HttpError(404, "notFound", `Not found: Dataset ${m[1]}:${m[2]}`);
      return { kind: "bigquery#dataset", datasetReference: { projectId: m[1], datasetId: m[2] } };
    }
    if ((m = p.match(/^\/projects\/([^/]+)\/datasets\/([^/]+)\/tables$/)) && method === "POST") {
      const [, projectId = "", dataset = ""] = m;
      if (!datasets.has(dataset))
        throw new HttpError(404, "notFound", `Not found: Dataset ${projectId}:${dataset}`);
      const ref = body.tableReference as { tableId?: string } | undefined;
      const schema = body.schema as { fields?: BigQueryField[] } | undefined;
      if (!ref?.tableId) throw new HttpError(400, "invalid", "tableReference.tableId is required");
      createTable(dataset, ref.tableId, schema?.fields ?? []);
      return {
        kind: "bigquery#table",
        tableReference: { projectId, datasetId: dataset, tableId: ref.tableId },
        schema: { fields: schema?.fields ?? [] },
      };
    }
    if ((m = p.match(/^\/projects\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)$/)) && method === "GET") {
      const [, projectId, dataset, table] = m;
      const fields = schemas.get(`${dataset}.${table}`);
      if (!fields) throw new HttpError(404, "notFound", `Not found: Table ${projectId}:${dataset}.${table}`);
      const data = (db.tables as Record<string, { data: unknown[] }>)[`${dataset}.${table}`];
      return {
        kind: "bigquery#table",
        tableReference: { projectId, datasetId: dataset, tableId: table },
        schema: { fields },
        numRows: String(data?.data.length ?? 0),
      };
    }
    if (
      (m = p.match(/^\/projects\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)\/insertAll$/)) &&
      method === "POST"
    ) {
      const rows = (body.rows ?? []) as { json: Record<string, unknown> }[];
      insertRows(
        `${m[2]}.${m[3]}`,
        rows.map((r) => r.json),
      );
      return { kind: "bigquery#tableDataInsertAllResponse" };
    }
    if ((m = p.match(/^\/projects\/([^/]+)\/queries$/)) && method === "POST") {
      const projectId = m[1] ?? "";
      const jobId = `job_${randomUUID().replace(/-/g, "")}`;
      const result = runQuery(projectId, body, jobId);
      return {
        kind: "bigquery#queryResponse",
        jobReference: { projectId, jobId, location: "US" },
        jobComplete: true,
        cacheHit: false,
        ...result,
      };
    }
    if ((m = p.match(/^\/projects\/([^/]+)\/jobs$/)) && method === "POST") {
      const projectId = m[1] ?? "";
      const ref = body.jobReference as { jobId?: string } | undefined;
      const jobId = ref?.jobId ?? `job_${randomUUID().replace(/-/g, "")}`;
      const query = (body.configuration as { query?: Record<string, unknown> } | undefined)?.query;
      if (!query) throw new HttpError(400, "invalid", "Only query jobs are supported here");
      runQuery(projectId, query, jobId);
      return jobResource(projectId, jobId, query);
    }
    if ((m = p.match(/^\/projects\/([^/]+)\/jobs\/([^/]+)$/)) && method === "GET") {
      const stored = results.get(m[2] ?? "");
      if (!stored) throw new HttpError(404, "notFound", `Not found: Job ${m[1]}:${m[2]}`);
      return jobResource(m[1] ?? "", m[2] ?? "", stored.query);
    }
    if ((m = p.match(/^\/projects\/([^/]+)\/queries\/([^/]+)$/)) && method === "GET") {
      const stored = results.get(m[2] ?? "");
      if (!stored) throw new HttpError(404, "notFound", `Not found: Job ${m[1]}:${m[2]}`);
      return {
        kind: "bigquery#getQueryResultsResponse",
        jobReference: { projectId: m[1], jobId: m[2], location: "US" },
        jobComplete: true,
        ...stored.result,
      };
    }
    throw new HttpError(404, "notFound", `The loopback BigQuery does not implement ${method} ${p}`);
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://loopback");
      const text = await readBody(req);
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : {};
      } catch {
        // Recorded as text; the handler answers 400.
      }
      requests.push({ method: req.method ?? "GET", path: url.pathname, headers: { ...req.headers }, body });
      let status = 200;
      let answer: unknown;
      try {
        if (typeof body !== "object" || body === null)
          throw new HttpError(400, "parseError", "Invalid JSON body");
        answer = handle(req.method ?? "GET", url.pathname, body as Record<string, unknown>);
      } catch (err) {
        const e =
          err instanceof HttpError ? err : new HttpError(500, "internalError", (err as Error).message);
        status = e.status;
        answer = {
          error: { code: e.status, message: e.message, errors: [{ reason: e.reason, message: e.message }] },
        };
      }
      res.writeHead(status, { "content-type": "application/json; charset=UTF-8" });
      res.end(JSON.stringify(answer));
    })();
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    queries: () => requests.filter((r) => /\/(queries|jobs)$/.test(r.path) && r.method === "POST"),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
