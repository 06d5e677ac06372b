/**
 * A burst of concurrent requests to a cold function through Hosting, as a page that opens with
 * several calls would send. The Functions emulator gives each running request a worker process of
 * its own; scripts/lib/firebase-emulators.ts limits how many run at once so that the burst does
 * not start a worker per request (which on a busy machine made every request fail with
 * "Failed to load function" and Hosting answer 504). Nothing else in the e2e suite calls atlas,
 * so its function is cold here whatever order the files run in.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ATLAS_PATH } from "../../src/services/atlas.js";
import { firestore } from "../../src/store/firebase.js";
import { apiToken, PRIVATE_DS, seedPersonas } from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";

const HOSTING = "http://127.0.0.1:5000";
const BURST = 20;

function localSecret(): string {
  const file = readFileSync(path.join(import.meta.dirname, "..", "..", ".secret.local"), "utf8");
  return /FLYEM_SECRET=(.*)/.exec(file)![1]!.trim();
}

describe("a burst of requests to a cold function through Hosting", function () {
  this.timeout(120_000);

  it(`answers all ${BURST} concurrent requests`, async () => {
    await clearFirestore();
    await seedPersonas();
    await firestore()
      .doc(`${ATLAS_PATH}/burst`)
      .set({
        title: "burst point",
        dataset: PRIVATE_DS,
        user: "writer@example.org",
        verified: true,
        timestamp: 1000.5,
        location: [1, 2, 3],
        locationkey: "1_2_3",
        id: "burst",
      });
    const reader = await apiToken("reader@example.org", { secret: localSecret() });
    const answers = await Promise.all(
      Array.from({ length: BURST }, async () => {
        const res = await fetch(`${HOSTING}/v2/atlas/all`, {
          headers: { authorization: `Bearer ${reader}` },
        });
        return { status: res.status, body: await res.text() };
      }),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      Array.from({ length: BURST }, () => 200),
      answers
        .filter((a) => a.status !== 200)
        .map((a) => a.body.slice(0, 200))
        .join("\n"),
    );
    for (const { body } of answers) {
      const points = JSON.parse(body) as { id: string; title: string }[];
      assert.deepEqual(
        points.map((p) => [p.id, p.title]),
        [["burst", "burst point"]],
      );
    }
  });
});
