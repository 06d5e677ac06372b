import assert from "node:assert/strict";
import { buildIndex, createIndexLoader } from "../../src/search/index.js";

const blobOf = (name: string) =>
  buildIndex([{ id: name, text: { name }, facets: {} }], { fields: { name: 1 } }).serialize();

describe("search index loader", () => {
  it("downloads once for concurrent callers, reloads a new version, keeps serving on failure", async () => {
    let version = "1";
    let clock = 0;
    let failVersion = false;
    const reads: string[] = [];
    const loader = createIndexLoader({
      version: () => (failVersion ? Promise.reject(new Error("storage down")) : Promise.resolve(version)),
      read: (v) => {
        reads.push(v);
        return Promise.resolve(blobOf(`doc${v}`));
      },
      checkEveryMs: 1000,
      now: () => clock,
    });
    const [a, b] = await Promise.all([loader.get(), loader.get()]);
    assert.equal(a, b);
    assert.deepEqual(reads, ["1"]);
    assert.ok(a.has("doc1"));

    version = "2";
    assert.equal(await loader.get(), a); // not yet due for a version check
    clock = 2000;
    const c = await loader.get();
    assert.ok(c.has("doc2"));
    assert.deepEqual(reads, ["1", "2"]);

    failVersion = true;
    clock = 4000;
    assert.equal(await loader.get(), c);
  });

  it("reports a first load that fails, and tries again on the next call", async () => {
    let fail = true;
    const loader = createIndexLoader({
      version: () => (fail ? Promise.reject(new Error("no index yet")) : Promise.resolve("1")),
      read: () => Promise.resolve(blobOf("x")),
    });
    await assert.rejects(loader.get(), /no index yet/);
    fail = false;
    assert.ok((await loader.get()).has("x"));
  });
});
