/**
 * JSON with exact uint64 body ids. `JSON.parse` rounds integers above 2^53 (a MANC body id such as
 * 18446744073709551615 would come back as ...616), so bodies of this group are parsed with
 * lossless-json: integers outside the safe range become bigints, everything else a number.
 * Objects are rebuilt from their own keys, so a `__proto__` key is dropped, never a prototype.
 */
import { isInteger, parse } from "lossless-json";
import { badRequest } from "../../errors.js";

function parseNumber(text: string): number | bigint {
  return isInteger(text) && !Number.isSafeInteger(Number(text)) ? BigInt(text) : Number(text);
}

function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === "__proto__") continue;
      out[k] = plain(v);
    }
    return out;
  }
  return value;
}

/** Parses a request body exactly; undefined for an empty body, 400 for invalid JSON. */
export function parseExactJson(raw: Buffer | string | undefined): unknown {
  const text = raw === undefined ? "" : typeof raw === "string" ? raw : raw.toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    return plain(parse(text, null, parseNumber));
  } catch (err) {
    throw badRequest(`The request body is not valid JSON (${(err as Error).message})`);
  }
}

/** A bigint anywhere but a body id cannot be stored exactly by Firestore's SDK; it becomes a number. */
export function numbersOnly(value: unknown): unknown {
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(numbersOnly);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = numbersOnly(v);
    return out;
  }
  return value;
}

/** One record as JSON text: `bodyid` exactly as its decimal digits, then the other fields. */
export function recordJson(bodyid: string, fields: Record<string, unknown>): string {
  const rest = JSON.stringify(fields);
  return rest === "{}" ? `{"bodyid":${bodyid}}` : `{"bodyid":${bodyid},${rest.slice(1)}`;
}
