/** Log redaction: secrets never reach a log line, however deep a caller nests them. */
import assert from "node:assert/strict";
import { redact } from "../../src/log.js";

describe("log redaction", () => {
  it("masks secret-looking keys at any depth and keeps the rest", () => {
    const out = redact({
      path: "/v2/roles",
      authorization: "Bearer abc",
      request: {
        headers: { Authorization: "Bearer abc", accept: "json" },
        attempts: [{ idToken: "x", n: 1 }],
      },
    });
    assert.deepEqual(out, {
      path: "/v2/roles",
      authorization: "[redacted]",
      request: {
        headers: { Authorization: "[redacted]", accept: "json" },
        attempts: [{ idToken: "[redacted]", n: 1 }],
      },
    });
    assert.ok(!JSON.stringify(out).includes("abc"));
  });

  it("cuts structures deeper than a log line needs", () => {
    let deep: Record<string, unknown> = { secret: "s" };
    for (let i = 0; i < 20; i++) deep = { next: deep };
    assert.ok(JSON.stringify(redact(deep)).includes("[truncated]"));
    assert.ok(!JSON.stringify(redact(deep)).includes('"s"'));
  });
});
