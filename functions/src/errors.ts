/**
 * The one error vocabulary of the API. Every failure a client sees is an ApiError with one of
 * these codes, and each code has exactly one HTTP status.
 */
export const ERROR_STATUS = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  failed_precondition: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  resource_exhausted: 429,
  internal: 500,
  bad_gateway: 502,
  unavailable: 503,
  deadline_exceeded: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** One problem with the input, as a path into it and a message. */
export interface Issue {
  path: (string | number)[];
  message: string;
}

export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues?: Issue[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ApiError";
    this.status = ERROR_STATUS[code];
  }

  /** The JSON body clients receive. */
  toJSON(): { detail: string; code: ErrorCode; issues?: Issue[] } {
    return this.issues
      ? { detail: this.message, code: this.code, issues: this.issues }
      : { detail: this.message, code: this.code };
  }
}

/** A zod failure as the `issues` of an error body. */
export function toIssues(error: {
  issues: readonly { path: readonly PropertyKey[]; message: string }[];
}): Issue[] {
  return error.issues.map((i) => ({
    path: i.path.map((p) => (typeof p === "number" ? p : String(p))),
    message: i.message,
  }));
}

export const badRequest = (message: string, issues?: Issue[]) =>
  new ApiError("invalid_argument", message, issues);
export const unauthenticated = (message = "Could not validate credentials") =>
  new ApiError("unauthenticated", message);
export const forbidden = (message: string) => new ApiError("permission_denied", message);
export const notFound = (message: string) => new ApiError("not_found", message);
export const conflict = (message: string) => new ApiError("conflict", message);
export const unavailable = (message: string) => new ApiError("unavailable", message);
