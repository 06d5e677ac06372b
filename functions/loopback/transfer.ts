/**
 * Loopback image-transfer service for tests and `npm start`: a stand-in for the Cloud Run URL in
 * TRANSFER_FUNC.
 *
 * Implemented faithfully: the request side of the protocol. It accepts `POST /` (any path) with a
 * JSON job `{location, glbstart, start, size, model_name, dest}`, answers 200 `{}` on success and
 * records every request with its headers (so a test can check the Bearer identity token). It can be
 * told to fail the next N requests with a status, or to hold requests without answering.
 * Not implemented: running a model or writing chunks to `dest`; identity tokens are recorded, not
 * verified (Cloud Run's front end does that in production).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface TransferRequestRecord {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
}

export interface TransferServer {
  url: string;
  requests: TransferRequestRecord[];
  /** The next `count` requests get `status` (default 503). */
  failNext(count: number, status?: number): void;
  /** While true, requests are recorded but never answered. */
  hang: boolean;
  close(): Promise<void>;
}

export async function startTransferServer(options: { port?: number } = {}): Promise<TransferServer> {
  const requests: TransferRequestRecord[] = [];
  let failures = 0;
  let failStatus = 503;
  const held: ServerResponse[] = [];

  const state: TransferServer = {
    url: "",
    requests,
    hang: false,
    failNext(count, status = 503) {
      failures = count;
      failStatus = status;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const res of held.splice(0)) res.destroy();
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Kept as text so a test can see what arrived.
      }
      requests.push({
        method: req.method ?? "",
        path: req.url ?? "/",
        authorization: req.headers.authorization,
        body,
      });
      if (state.hang) {
        held.push(res);
        return;
      }
      if (req.method !== "POST") {
        res.writeHead(405).end();
        return;
      }
      if (failures > 0) {
        failures -= 1;
        res.writeHead(failStatus, { "content-type": "text/plain" }).end("failed on purpose");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return state;
}
