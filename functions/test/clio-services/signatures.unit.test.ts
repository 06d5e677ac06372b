/**
 * The signature arithmetic clio's clients depend on, and the committed seed that `npm start` and
 * the /v2/signatures suite serve. The routes themselves are tested in signatures.test.ts.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fmix64, parseSignatureInfo, partitionsOf } from "../../src/services/signatures.js";
import { DEMO_INFO, makeSignatureSeed } from "../../../scripts/make-signatures.js";
import { QUERY_SIGNATURE } from "./stack.js";

describe("signature hashing", () => {
  it("computes clio's murmur64 partitions, including negative masked values", () => {
    // Expected values computed with clio's Python murmur64 on Python ints.
    assert.equal(fmix64(1n), 12994781566227106604n);
    const sig = BigInt(QUERY_SIGNATURE);
    assert.equal(fmix64(-1n & sig) % 4000n, 2336n);
    assert.equal(fmix64(-(1n << 63n) & sig) % 4000n, 1930n);
    assert.deepEqual(partitionsOf(DEMO_INFO, sig), [2986n, 3799n, 1691n, 2352n]);
  });

  it("parses 64-bit masks written as JSON numbers without rounding", () => {
    const info = parseSignatureInfo(
      '{"block_size": 64, "ham_0": 1, "ham_1": "2", "ham_2": 3, "ham_3": 18446462598732840961}',
    );
    assert.equal(info.ham_3, 18446462598732840961n);
    assert.equal(info.ham_1, 2n);
  });
});

describe("the committed signature seed", () => {
  it("matches what the generator produces today", async () => {
    const fresh = makeSignatureSeed();
    for (const [name, content] of fresh.objects) {
      assert.ok((await readFile(`emulator-data/signatures/${name}`)).equals(content), `${name} is stale`);
    }
    const committed = JSON.parse(await readFile("emulator-data/signatures/bigquery.json", "utf8")) as unknown;
    assert.deepEqual(
      committed,
      { tables: fresh.tables },
      "bigquery.json is stale: run scripts/make-signatures.ts",
    );
  });
});
