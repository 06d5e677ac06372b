/**
 * Record semantics of DVID's `neuronjson`, which clio serves: merging or replacing a posted record
 * into the stored one with per-field `<field>_user`/`<field>_time` stamps on changed values only,
 * `show`/`fields` projections, and the query language (AND within an object, OR across a list, a
 * list value is IN, array membership, `re/` regex, `exists/0|1`). Pure functions, no Firestore.
 */
import { isDeepStrictEqual } from "node:util";
import { badRequest } from "../../errors.js";
import { canonicalBodyId, type Show } from "../../schemas/json-annotations.js";
import { numbersOnly } from "./exact-json.js";

/** A record's fields without `bodyid` (kept separately as exact decimal text). */
export type Fields = Record<string, unknown>;

const STAMP = /_(user|time)$/;

export function isStamp(field: string): boolean {
  return STAMP.test(field);
}

export interface Posted {
  bodyid: string;
  fields: Fields;
}

/** Checks one posted element: an object with an exact `bodyid` and no reserved `_` fields. */
export function parsePosted(value: unknown, index: number | undefined): Posted {
  const where = index === undefined ? "" : ` (item ${index})`;
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw badRequest(`Each annotation must be a JSON object${where}`);
  const record = value as Record<string, unknown>;
  if (!("bodyid" in record))
    throw badRequest(`Cannot POST annotation when no bodyid field exists in JSON${where}`);
  const bodyid = canonicalBodyId(record.bodyid);
  if (bodyid === undefined)
    throw badRequest(`bodyid must be an integer 1..2^64-1, not ${String(record.bodyid)}${where}`);
  const fields: Fields = {};
  for (const [k, v] of Object.entries(record)) {
    if (k === "bodyid") continue;
    if (k.startsWith("_") || k.includes(".") || k.length === 0 || k.length > 128)
      throw badRequest(
        `Field name ${JSON.stringify(k)} is not allowed${where}: no leading _, no '.', 1-128 characters`,
      );
    // Firestore's SDK reads integers back as numbers: only body ids stay exact.
    fields[k] = numbersOnly(v);
  }
  return { bodyid, fields };
}

/** A stored value counts as empty for `conditional` when it is absent, null, "" or []. */
function isEmpty(value: unknown): boolean {
  return (
    value === undefined || value === null || value === "" || (Array.isArray(value) && value.length === 0)
  );
}

export interface WriteOptions {
  replace: boolean;
  conditional: string[];
  /** The name stamped into `<field>_user`. */
  stampUser: string;
  /** RFC 3339 UTC. */
  stampTime: string;
}

/**
 * The record after a write, or undefined when nothing changes. Merge keeps stored fields not
 * posted; replace keeps only the posted ones (and ignores `conditional`). A `conditional` field
 * that already holds a non-empty value keeps it. Each new or changed value gets its stamps unless
 * the post sets them itself; unchanged values keep theirs. `bodyid` and `user` are never stamped.
 */
export function applyWrite(
  stored: Fields | undefined,
  posted: Fields,
  options: WriteOptions,
): Fields | undefined {
  const before = stored ?? {};
  const incoming: Fields = { ...posted };
  if (!options.replace) {
    for (const field of options.conditional) {
      if (field in incoming && !isEmpty(before[field])) {
        delete incoming[field];
        delete incoming[`${field}_user`];
        delete incoming[`${field}_time`];
      }
    }
  }
  const next: Fields = options.replace ? {} : { ...before };
  for (const [k, v] of Object.entries(incoming)) next[k] = v;
  for (const [field, value] of Object.entries(incoming)) {
    if (isStamp(field) || field === "user") continue;
    const changed = !(field in before) || !isDeepStrictEqual(before[field], value);
    if (changed) {
      if (!(`${field}_user` in incoming)) next[`${field}_user`] = options.stampUser;
      if (!(`${field}_time` in incoming)) next[`${field}_time`] = options.stampTime;
    } else if (options.replace) {
      // A replacing post that repeats a value keeps the value's stamps.
      for (const stamp of [`${field}_user`, `${field}_time`])
        if (!(stamp in incoming) && stamp in before) next[stamp] = before[stamp];
    }
  }
  if (stored !== undefined && isDeepStrictEqual(next, before)) return undefined;
  return next;
}

export interface Projection {
  show: Show;
  fields?: string[] | undefined;
}

/** The fields a read returns: stamps per `show`, and only `fields` when given. */
export function project(fields: Fields, projection: Projection): Fields {
  const show = projection.show === "" ? "none" : projection.show;
  const keepUser = show === "user" || show === "all";
  const keepTime = show === "time" || show === "all";
  // `fields=` (empty) means no restriction, as clients send it when they have none.
  const only = projection.fields?.length ? new Set(projection.fields) : undefined;
  const out: Fields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (k.endsWith("_user") && k !== "user") {
      if (!keepUser) continue;
      if (only && !only.has(k) && !only.has(k.slice(0, -5))) continue;
    } else if (k.endsWith("_time")) {
      if (!keepTime) continue;
      if (only && !only.has(k) && !only.has(k.slice(0, -5))) continue;
    } else if (only && !only.has(k)) continue;
    out[k] = v;
  }
  return out;
}

// ---- queries ----

type Test = (value: unknown) => boolean;

export interface FieldTest {
  field: string;
  test: Test;
}

export interface CompiledQuery {
  /** OR over these; each is an AND of field tests. */
  clauses: FieldTest[][];
  /** When every clause names its body ids, the only ids that can match (no scan needed). */
  ids?: Set<string> | undefined;
}

const MAX_REGEX_LENGTH = 512;

function numeric(v: unknown): v is number | bigint {
  return typeof v === "number" || typeof v === "bigint";
}

function sameValue(a: unknown, b: unknown): boolean {
  if (numeric(a) && numeric(b)) {
    if (typeof a === "bigint" || typeof b === "bigint") {
      const ia = typeof a === "bigint" ? a : Number.isInteger(a) ? BigInt(a) : undefined;
      const ib = typeof b === "bigint" ? b : Number.isInteger(b) ? BigInt(b) : undefined;
      return ia !== undefined && ib !== undefined && ia === ib;
    }
    return a === b;
  }
  return isDeepStrictEqual(a, b);
}

function scalarTest(field: string, q: unknown): Test {
  if (typeof q === "string" && q.startsWith("re/")) {
    const source = q.slice(3);
    if (source.length > MAX_REGEX_LENGTH)
      throw badRequest(`The regex for ${field} is longer than ${MAX_REGEX_LENGTH} characters`);
    let re: RegExp;
    try {
      re = new RegExp(source);
    } catch (err) {
      throw badRequest(`The regex for ${field} is invalid: ${(err as Error).message}`);
    }
    return (v) =>
      typeof v === "string"
        ? re.test(v)
        : Array.isArray(v) && v.some((x) => typeof x === "string" && re.test(x));
  }
  if (q === "exists/1") return (v) => v !== undefined && v !== null;
  if (q === "exists/0") return (v) => v === undefined || v === null;
  if (q !== null && typeof q === "object")
    throw badRequest(`The query value of ${field} must be a string, number, boolean, null or a list of them`);
  return (v) => sameValue(v, q) || (Array.isArray(v) && v.some((x) => sameValue(x, q)));
}

function bodyIdsOf(q: unknown): string[] | undefined {
  const list = Array.isArray(q) ? q : [q];
  const ids: string[] = [];
  for (const x of list) {
    const id = canonicalBodyId(x);
    if (id === undefined) return undefined;
    ids.push(id);
  }
  return ids;
}

/** Compiles `POST …/query`'s body (one object or a non-empty list of objects). */
export function compileQuery(body: unknown): CompiledQuery {
  if (body === undefined) throw badRequest("Send a query: a JSON object, or a list of objects");
  const objects = Array.isArray(body) ? body : [body];
  if (objects.length === 0) throw badRequest("A query list needs at least one object");
  if (objects.length > 1000) throw badRequest("A query list has at most 1000 objects");
  const clauses: FieldTest[][] = [];
  let ids: Set<string> | undefined = new Set();
  for (const [i, object] of objects.entries()) {
    if (object === null || typeof object !== "object" || Array.isArray(object))
      throw badRequest(`Query item ${i} must be a JSON object of field: value`);
    const tests: FieldTest[] = [];
    let clauseIds: string[] | undefined;
    for (const [field, q] of Object.entries(object as Record<string, unknown>)) {
      if (field === "bodyid") {
        clauseIds = bodyIdsOf(q);
        if (clauseIds === undefined && (typeof q !== "string" || !/^(re|exists)\//.test(q)))
          throw badRequest(`bodyid in query item ${i} must be body ids (integers 1..2^64-1)`);
      }
      if (field === "bodyid" && clauseIds !== undefined) {
        // Ids compare exactly, whether sent as numbers or as digit strings.
        const wanted = new Set(clauseIds);
        tests.push({ field, test: (v) => wanted.has(String(v)) });
      } else if (Array.isArray(q)) {
        if (q.length > 100_000) throw badRequest(`The list for ${field} is too long`);
        const parts = q.map((x) => scalarTest(field, x));
        tests.push({ field, test: (v) => parts.some((t) => t(v)) });
      } else tests.push({ field, test: scalarTest(field, q) });
    }
    if (clauseIds === undefined) ids = undefined;
    else if (ids) for (const id of clauseIds) ids.add(id);
    clauses.push(tests);
  }
  return { clauses, ids };
}

/** Whether a record (bodyid as exact bigint) matches. */
export function matches(query: CompiledQuery, bodyid: bigint, fields: Fields): boolean {
  return query.clauses.some((tests) =>
    tests.every(({ field, test }) => test(field === "bodyid" ? bodyid : fields[field])),
  );
}
