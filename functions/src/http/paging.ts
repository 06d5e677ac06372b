/**
 * Lists. With `limit` or `cursor` a list answers one page and puts the cursor of the next one in
 * the X-Next-Cursor header; without them it streams every item, reading the store page by page,
 * so memory stays bounded however long the list is. Cursors are opaque to clients.
 *
 * Both are bounded in bytes too (security review M1): a page ends early, with a next cursor, once
 * its items reach LIST_MAX_BYTES; a stream reads at most that many bytes per store read and
 * writes each item out as it is serialised, so the instance never holds a batch of big documents.
 */
import type { Response } from "express";
import { z } from "zod";
import { DEFAULT_PAGE_MAX_BYTES, invalidCursor, wasCut, type PageReader } from "../store/pages.js";

/** Page size used internally while streaming an unpaged list. */
export const STREAM_PAGE_SIZE = 500;
export const NEXT_CURSOR_HEADER = "X-Next-Cursor";

export function encodeCursor(position: string): string {
  return Buffer.from(JSON.stringify({ v: 1, after: position })).toString("base64url");
}

export function decodeCursor(cursor: string): string {
  try {
    const parsed = z
      .object({ v: z.literal(1), after: z.string() })
      .parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    return parsed.after;
  } catch {
    throw invalidCursor();
  }
}

export interface SendListOptions {
  shape: "object" | "array";
  read: PageReader;
  limit?: number | undefined;
  cursor?: string | undefined;
  /** Byte budget of a page or a store read; default LIST_MAX_BYTES (res.locals.listMaxBytes). */
  maxBytes?: number | undefined;
}

/** Bytes gathered before one write to the client while streaming. */
const WRITE_CHUNK_BYTES = 256 * 1024;

/** Answers a list request, paged or streamed (see the module comment). */
export async function sendList(res: Response, options: SendListOptions): Promise<void> {
  const { shape, read } = options;
  const maxBytes =
    options.maxBytes ?? (res.locals.listMaxBytes as number | undefined) ?? DEFAULT_PAGE_MAX_BYTES;
  if (options.limit !== undefined || options.cursor !== undefined) {
    const limit = options.limit ?? 100;
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    const items = await read(after, limit + 1, maxBytes);
    // Serialise once; stop at the byte budget (keeping at least one item, so paging advances).
    const parts: string[] = [];
    let bytes = 0;
    for (const item of items.slice(0, limit)) {
      if (parts.length > 0 && bytes >= maxBytes) break;
      const part = serialise(shape, item.key, item.value);
      parts.push(part);
      bytes += Buffer.byteLength(part, "utf8");
    }
    if (items.length > parts.length || wasCut(items))
      res.setHeader(NEXT_CURSOR_HEADER, encodeCursor(items[parts.length - 1]!.position));
    res
      .status(200)
      .type("application/json")
      .send(shape === "object" ? `{${parts.join(",")}}` : `[${parts.join(",")}]`);
    return;
  }
  await streamList(res, shape, read, maxBytes);
}

function serialise(shape: "object" | "array", key: string, value: unknown): string {
  return shape === "object" ? `${JSON.stringify(key)}:${JSON.stringify(value)}` : JSON.stringify(value);
}

async function streamList(
  res: Response,
  shape: "object" | "array",
  read: PageReader,
  maxBytes: number,
): Promise<void> {
  res.status(200).type("application/json");
  let first = true;
  let after: string | undefined;
  await write(res, shape === "object" ? "{" : "[");
  for (;;) {
    const items = await read(after, STREAM_PAGE_SIZE, maxBytes);
    let chunk = "";
    for (const item of items) {
      chunk += (first ? "" : ",") + serialise(shape, item.key, item.value);
      first = false;
      if (chunk.length >= WRITE_CHUNK_BYTES) {
        await write(res, chunk);
        chunk = "";
      }
    }
    if (chunk) await write(res, chunk);
    if (items.length < STREAM_PAGE_SIZE && !wasCut(items)) break;
    if (items.length === 0) break;
    after = items[items.length - 1]!.position;
  }
  res.end(shape === "object" ? "}" : "]");
}

/** Writes with back-pressure, so a slow client does not make us buffer the whole list. */
function write(res: Response, chunk: string): Promise<void> {
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      res.off("close", onClose);
      resolve();
    };
    const onClose = () => {
      res.off("drain", onDrain);
      reject(new Error("client closed the connection"));
    };
    res.once("drain", onDrain);
    res.once("close", onClose);
  });
}
