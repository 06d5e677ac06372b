/**
 * Reads an upstream HTTP body with a byte cap (security review M2): a large or endless answer
 * from neuPrint, the transfer service or any other upstream must not grow one instance's memory
 * without bound. The reading itself is the harvest client's (sources/http.ts).
 */
import { ApiError } from "../errors.js";
import { readBodyCapped } from "../sources/http.js";

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`The upstream answer is larger than ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/** The whole body as bytes, or BodyTooLargeError once it passes `maxBytes`. */
export function readCapped(response: Response, maxBytes: number): Promise<Buffer> {
  return readBodyCapped(response, maxBytes, () => new BodyTooLargeError(maxBytes));
}

/** The body as text, at most `maxBytes` of it read (the rest is dropped); for error messages. */
export async function readTextPrefix(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return "";
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (total < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString("utf8");
}

/** The ApiError a caller sees for an upstream answer over the cap. */
export function tooLarge(what: string, err: BodyTooLargeError): ApiError {
  return new ApiError(
    "bad_gateway",
    `${what} answered with more than ${err.limit} bytes; narrow the request (e.g. add LIMIT)`,
  );
}
