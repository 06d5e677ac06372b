/**
 * A job through the deployed shape: the route behind Hosting answers 202, and the Firestore
 * trigger on the new job document (fired by the Firestore emulator into the Functions emulator,
 * scripts/lib/firestore-triggers.ts) runs it to the end, which GET /v2/jobs/{id} then shows.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Job, JobAccepted } from "../../src/schemas/jobs.js";
import { apiToken, seedPersonas } from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";

const HOSTING = process.env.NEUROFIRE_E2E_HOSTING ?? "http://127.0.0.1:5000";

function localSecret(): string {
  const file = readFileSync(path.join(import.meta.dirname, "..", "..", ".secret.local"), "utf8");
  return /FLYEM_SECRET=(.*)/.exec(file)![1]!.trim();
}

describe("a job runs in the Firestore trigger after its route answered 202", function () {
  this.timeout(180_000);

  it("an index rebuild job started through Hosting ends done", async () => {
    await clearFirestore();
    await seedPersonas();
    const admin = await apiToken("admin@example.org", { secret: localSecret() });
    const headers = { authorization: `Bearer ${admin}` };
    const started = await fetch(`${HOSTING}/v2/catalog/index?async=true`, { method: "POST", headers });
    assert.equal(started.status, 202, await started.clone().text());
    const { job } = (await started.json()) as JobAccepted;
    // Polled as a client would; the bound is only there so a trigger that never fires fails.
    let seen: Job = job;
    for (let i = 0; i < 150 && !["done", "failed", "cancelled"].includes(seen.state); i++) {
      await new Promise((r) => setTimeout(r, 1000));
      seen = (await (await fetch(`${HOSTING}/v2/jobs/${job.id}`, { headers })).json()) as Job;
    }
    assert.equal(seen.state, "done", JSON.stringify(seen));
    assert.equal(typeof seen.result?.records, "number");
  });
});
