/**
 * Structured logging through one module. Callers pass a message and plain fields; tokens,
 * Authorization headers and request bodies are never logged, and `redact` masks any field whose
 * name looks secret in case one slips into a structured object.
 */
// The logger's own entry point: the package root loads every trigger provider.
import * as functionsLogger from "firebase-functions/logger";

export type LogFields = Record<string, unknown>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const SECRET_KEY = /authorization|token|secret|password|private_key|cookie/i;

/** Masks every field whose name looks secret, at any depth (a nested `headers.authorization` too). */
export function redact(fields: LogFields = {}): LogFields {
  return mask(fields, 0) as LogFields;
}

function mask(value: unknown, depth: number): unknown {
  // Deep structures are cut rather than walked: a log line never needs them whole.
  if (depth > 8) return "[truncated]";
  if (Array.isArray(value)) return value.map((v) => mask(v, depth + 1));
  if (value === null || typeof value !== "object" || value instanceof Date) return value;
  const out: LogFields = {};
  for (const [key, v] of Object.entries(value))
    out[key] = SECRET_KEY.test(key) ? "[redacted]" : mask(v, depth + 1);
  return out;
}

/** The Cloud Logging-aware logger of firebase-functions, with redaction. */
export const cloudLogger: Logger = {
  info: (message, fields) => functionsLogger.info(message, redact(fields)),
  warn: (message, fields) => functionsLogger.warn(message, redact(fields)),
  error: (message, fields) => functionsLogger.error(message, redact(fields)),
};

/** A logger bound to one request, so every line carries its id. */
export function withFields(base: Logger, bound: LogFields): Logger {
  return {
    info: (message, fields) => base.info(message, { ...bound, ...fields }),
    warn: (message, fields) => base.warn(message, { ...bound, ...fields }),
    error: (message, fields) => base.error(message, { ...bound, ...fields }),
  };
}
