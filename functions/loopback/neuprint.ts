/**
 * Loopback neuPrint for tests and `npm start` (set NEUPRINT_BASE_URL to its url).
 *
 * Implemented faithfully: `POST /api/custom/custom` with a JSON `{cypher, dataset}` body and a
 * Bearer token, answered with neuPrint's `{columns, data}` shape; a wrong token gets 401 and a
 * non-JSON body 400, each with neuPrint's `{"error": "..."}` body. Every request is recorded with
 * its Authorization header.
 * Not implemented: Cypher. Answers come from `answer` (default: one row echoing the dataset), and a
 * test can queue scripted replies (`reply`: a status and body, or `hang` to never answer).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface NeuprintRequestRecord {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
}

export type NeuprintReply = { status: number; body: string } | { hang: true };

export interface NeuprintServer {
  url: string;
  requests: NeuprintRequestRecord[];
  /** Replies used, one each, before the default behaviour. */
  replies: NeuprintReply[];
  close(): Promise<void>;
}

export async function startNeuprintServer(
  options: {
    port?: number;
    token?: string;
    answer?: (query: { cypher: string; dataset: string }) => { columns: string[]; data: unknown[][] };
  } = {},
): Promise<NeuprintServer> {
  const token = options.token ?? "neuprint-test-token";
  const answer =
    options.answer ??
    ((q: { cypher: string; dataset: string }) => ({ columns: ["dataset"], data: [[q.dataset]] }));
  const requests: NeuprintRequestRecord[] = [];
  const replies: NeuprintReply[] = [];
  const held: ServerResponse[] = [];

  const send = (res: ServerResponse, status: number, body: unknown) =>
    res
      .writeHead(status, { "content-type": "application/json" })
      .end(typeof body === "string" ? body : JSON.stringify(body));

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      requests.push({
        method: req.method ?? "",
        path: req.url ?? "/",
        authorization: req.headers.authorization,
        body: body ?? text,
      });
      const scripted = replies.shift();
      if (scripted && "hang" in scripted) {
        held.push(res);
        return;
      }
      if (scripted) {
        res.writeHead(scripted.status, { "content-type": "application/json" }).end(scripted.body);
        return;
      }
      if (req.method !== "POST" || req.url !== "/api/custom/custom") {
        send(res, 404, { error: "not found" });
        return;
      }
      if (req.headers.authorization !== `Bearer ${token}`) {
        send(res, 401, { error: "Please provide valid credentials" });
        return;
      }
      const q = body as { cypher?: unknown; dataset?: unknown } | undefined;
      if (typeof q?.cypher !== "string" || typeof q.dataset !== "string") {
        send(res, 400, { error: "request must be JSON with cypher and dataset" });
        return;
      }
      send(res, 200, answer({ cypher: q.cypher, dataset: q.dataset }));
    });
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    replies,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const res of held.splice(0)) res.destroy();
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
