/**
 * The loopback STS speaks the token exchange google-auth-library's DownscopedClient sends, and
 * refuses what Google's STS refuses; the boundary neurofire builds is the one Google documents.
 */
import assert from "node:assert/strict";
import { DownscopedClient, type AuthClient } from "google-auth-library";
import {
  ACCESS_TOKEN_TYPE,
  startStsServer,
  TOKEN_EXCHANGE_GRANT,
  type StsServer,
} from "../../loopback/sts.js";
import { accessBoundary, pointAt, READ_ROLE, WRITE_ROLE } from "../../src/storage/downscope.js";

describe("loopback STS and access boundaries", () => {
  let sts: StsServer;
  before(async () => {
    sts = await startStsServer({ sourceTokens: ["source-token"] });
  });
  after(() => sts.close());

  const boundary = accessBoundary("bkt", [{ roles: [READ_ROLE], prefix: "ds/" }]);
  const form = (fields: Record<string, string>) =>
    fetch(sts.tokenUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields),
    });
  const valid = {
    grant_type: TOKEN_EXCHANGE_GRANT,
    subject_token: "source-token",
    subject_token_type: ACCESS_TOKEN_TYPE,
    requested_token_type: ACCESS_TOKEN_TYPE,
    options: JSON.stringify(boundary),
  };

  it("builds the documented boundary: bucket resource, inRole permissions, a startsWith condition", () => {
    assert.deepEqual(accessBoundary("bkt", [{ roles: [READ_ROLE, WRITE_ROLE], prefix: "ds/up/" }]), {
      accessBoundary: {
        accessBoundaryRules: [
          {
            availableResource: "//storage.googleapis.com/projects/_/buckets/bkt",
            availablePermissions: ["inRole:roles/storage.objectViewer", "inRole:roles/storage.objectCreator"],
            availabilityCondition: {
              expression: "resource.name.startsWith('projects/_/buckets/bkt/objects/ds/up/')",
            },
          },
        ],
      },
    });
    assert.throws(() => accessBoundary("bkt", [{ roles: [READ_ROLE], prefix: "a')||true||('" }]), /Unsafe/);
    assert.throws(() => accessBoundary("bkt", [{ roles: [READ_ROLE], prefix: "no-slash" }]), /Unsafe/);
  });

  it("answers a valid exchange with the RFC 8693 fields, and the token obeys the boundary", async () => {
    const res = await form(valid);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), [
      "access_token",
      "expires_in",
      "issued_token_type",
      "token_type",
    ]);
    assert.equal(body.issued_token_type, ACCESS_TOKEN_TYPE);
    assert.equal(body.token_type, "Bearer");
    assert.equal(body.expires_in, 3600);
    const token = body.access_token as string;
    assert.equal(sts.decide(token, "bkt", "ds/a/b", "storage.objects.get"), "allow");
    assert.equal(sts.decide(token, "bkt", "ds-other/a", "storage.objects.get"), "deny");
    assert.equal(sts.decide(token, "bkt", "ds/a", "storage.objects.create"), "deny");
    assert.equal(sts.decide(token, "other", "ds/a", "storage.objects.get"), "deny");
    assert.equal(sts.decide(token, "bkt", undefined, "storage.objects.list"), "deny");
    assert.equal(sts.decide("some-service-token", "bkt", "x", "storage.objects.get"), undefined);
  });

  const refusals: [string, Record<string, string>, number, string][] = [
    ["another grant type", { grant_type: "client_credentials" }, 400, "unsupported_grant_type"],
    ["an unknown subject token", { subject_token: "stolen" }, 400, "invalid_grant"],
    [
      "an ID token as subject",
      { subject_token_type: "urn:ietf:params:oauth:token-type:id_token" },
      400,
      "invalid_request",
    ],
    ["no boundary", { options: "" }, 400, "invalid_request"],
    [
      "an empty boundary",
      { options: JSON.stringify({ accessBoundary: { accessBoundaryRules: [] } }) },
      400,
      "invalid_request",
    ],
    [
      "an unsupported condition",
      {
        options: JSON.stringify({
          accessBoundary: {
            accessBoundaryRules: [
              {
                availableResource: "//storage.googleapis.com/projects/_/buckets/bkt",
                availablePermissions: ["inRole:roles/storage.objectViewer"],
                availabilityCondition: { expression: "resource.name.endsWith('.zarr')" },
              },
            ],
          },
        }),
      },
      400,
      "invalid_request",
    ],
    [
      "a raw permission instead of a role",
      {
        options: JSON.stringify({
          accessBoundary: {
            accessBoundaryRules: [
              {
                availableResource: "//storage.googleapis.com/projects/_/buckets/bkt",
                availablePermissions: ["storage.objects.get"],
              },
            ],
          },
        }),
      },
      400,
      "invalid_request",
    ],
  ];
  for (const [what, change, status, error] of refusals) {
    it(`refuses ${what} with ${status} ${error}`, async () => {
      const before = sts.exchanges();
      const res = await form({ ...valid, ...change });
      assert.equal(res.status, status);
      const body = (await res.json()) as { error: string; error_description: string };
      assert.equal(body.error, error);
      assert.ok(body.error_description.length > 0);
      assert.equal(sts.exchanges(), before);
    });
  }

  it("is what google-auth-library's DownscopedClient talks to", async () => {
    // A source client whose token is the one the STS accepts (the metadata loopback's role).
    const source = {
      credentials: { expiry_date: Date.now() + 3600_000 },
      getAccessToken: () => Promise.resolve({ token: "source-token" }),
    } as unknown as AuthClient;
    const client = new DownscopedClient({ authClient: source, credentialAccessBoundary: boundary });
    pointAt(client, sts.tokenUrl);
    const { token, expirationTime } = await client.getAccessToken();
    assert.equal(sts.decide(token!, "bkt", "ds/x", "storage.objects.get"), "allow");
    assert.ok(expirationTime! > Date.now() + 3500_000);
  });
});
