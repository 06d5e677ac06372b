/** The per-instance count cache behind USER_STORAGE_CAPS: trusted briefly, never below the truth it saw. */
import assert from "node:assert/strict";
import { CapCounts } from "../../src/store/caps.js";

describe("CapCounts", () => {
  it("keeps a count for maxAge, adds what passed since, then forgets it", () => {
    const c = new CapCounts(60_000, 10);
    assert.equal(c.recent("k", 0), undefined);
    c.counted("k", 40, 1_000);
    c.added("k", 5);
    assert.equal(c.recent("k", 61_000), 45);
    assert.equal(c.recent("k", 61_001), undefined, "older than a minute: count again");
    c.added("k", 5);
    assert.equal(c.recent("k", 61_002), undefined, "adding to a forgotten count does not revive it");
  });

  it("holds at most maxEntries counts, dropping the oldest", () => {
    const c = new CapCounts(60_000, 2);
    c.counted("a", 1, 0);
    c.counted("b", 2, 0);
    c.counted("c", 3, 0);
    assert.equal(c.recent("a", 0), undefined);
    assert.equal(c.recent("b", 0), 2);
    assert.equal(c.recent("c", 0), 3);
  });
});
