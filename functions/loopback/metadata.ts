/**
 * Loopback GCE metadata server: the `Metadata-Flavor: Google` protocol of `computeMetadata/v1`,
 * answering what google-auth-library's Compute client asks for on Cloud Functions: the project
 * id, the default service account's email, and RS256 identity tokens for an audience
 * (`instance/service-accounts/default/identity?audience=…`), and an opaque access token.
 * Anything else is a 404. Point
 * google-auth-library at it with GCE_METADATA_HOST.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { generateKeyPair, SignJWT } from "jose";

export interface MetadataServer {
  /** host:port, the GCE_METADATA_HOST value. */
  host: string;
  /** Identity-token requests, by audience. */
  identityRequests: string[];
  /** Makes google-auth-library use this server for the duration of a test suite. */
  install(): void;
  uninstall(): void;
  close(): Promise<void>;
}

export async function startMetadataServer(projectId = "demo-neurofire"): Promise<MetadataServer> {
  const { privateKey } = await generateKeyPair("RS256");
  const email = `neurofire@${projectId}.iam.gserviceaccount.com`;
  const identityRequests: string[] = [];
  const saved: Record<string, string | undefined> = {};

  const reply = (res: ServerResponse, status: number, body: string) =>
    res.writeHead(status, { "metadata-flavor": "Google", "content-type": "application/text" }).end(body);

  const answer = async (req: IncomingMessage): Promise<[number, string]> => {
    if (req.headers["metadata-flavor"] !== "Google") return [403, "Missing Metadata-Flavor header"];
    const url = new URL(req.url ?? "/", "http://metadata");
    const path = url.pathname.replace(/^\/computeMetadata\/v1\//, "");
    if (path === "project/project-id") return [200, projectId];
    if (path === "universe/universe-domain") return [200, "googleapis.com"];
    if (path === "instance/service-accounts/default/email") return [200, email];
    // Clients that want an access token (BigQuery, Storage) get an opaque one; loopback services ignore it.
    if (path === "instance/service-accounts/default/token") {
      return [
        200,
        JSON.stringify({ access_token: "loopback-access-token", expires_in: 3600, token_type: "Bearer" }),
      ];
    }
    if (path !== "instance/service-accounts/default/identity") return [404, "not found"];
    const audience = url.searchParams.get("audience");
    if (!audience) return [400, "audience required"];
    identityRequests.push(audience);
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ email, email_verified: true })
      .setProtectedHeader({ alg: "RS256", kid: "metadata-loopback", typ: "JWT" })
      .setIssuer("https://accounts.google.com")
      .setAudience(audience)
      .setSubject("100000000000000000001")
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(privateKey);
    return [200, token];
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void answer(req).then(([status, body]) => reply(res, status, body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const vars = { GCE_METADATA_HOST: host, METADATA_SERVER_DETECTION: "assume-present" };
  return {
    host,
    identityRequests,
    install() {
      for (const [name, value] of Object.entries(vars)) {
        saved[name] = process.env[name];
        process.env[name] = value;
      }
    },
    uninstall() {
      for (const name of Object.keys(vars)) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
