/**
 * Lists. With `limit` or `cursor` a list answers one page and puts the cursor of the next one in
 * the X-Next-Cursor header; without them it streams every item, reading the store page by page,
 * so memory stays bounded however long the list is. Cursors are opaque to clients.
 */
import type { Response } from "express";
import { z } from "zod";
import { invalidCursor, type PageReader } from "../store/pages.js";

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
}

/** Answers a list request, paged or streamed (see the module comment). */
export async function sendList(res: Response, options: SendListOptions): Promise<void> {
  const { shape, read } = options;
  if (options.limit !== undefined || options.cursor !== undefined) {
    const limit = options.limit ?? 100;
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    const items = await read(after, limit + 1);
    const page = items.slice(0, limit);
    if (items.length > limit)
      res.setHeader(NEXT_CURSOR_HEADER, encodeCursor(page[page.length - 1]!.position));
    res.json(
      shape === "object" ? Object.fromEntries(page.map((i) => [i.key, i.value])) : page.map((i) => i.value),
    );
    return;
  }
  await streamList(res, shape, read);
}

async function streamList(res: Response, shape: "object" | "array", read: PageReader): Promise<void> {
  res.status(200).type("application/json");
  let first = true;
  let after: string | undefined;
  await write(res, shape === "object" ? "{" : "[");
  for (;;) {
    const items = await read(after, STREAM_PAGE_SIZE);
    let chunk = "";
    for (const item of items) {
      chunk += first ? "" : ",";
      chunk +=
        shape === "object"
          ? `${JSON.stringify(item.key)}:${JSON.stringify(item.value)}`
          : JSON.stringify(item.value);
      first = false;
    }
    if (chunk) await write(res, chunk);
    if (items.length < STREAM_PAGE_SIZE) break;
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
