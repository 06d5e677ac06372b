/**
 * The index builder takes documents one at a time (a rebuild streams records through it and
 * drops each), in any order, with fields, facets and sort keys that appear part-way through.
 */
import assert from "node:assert/strict";
import { ApiError } from "../../src/errors.js";
import { buildIndex, IndexBuilder, SearchIndex, type SearchDocument } from "../../src/search/index.js";
import { CORPUS, OPTIONS } from "./corpus.js";

function streamed(docs: SearchDocument[]): SearchIndex {
  const builder = new IndexBuilder(OPTIONS);
  for (const doc of docs) builder.add(doc);
  return new SearchIndex(builder.finish());
}

const QUERIES = [
  { q: "pyramidal" },
  { q: "CA1 pyramidal cell" },
  { q: "interneu" },
  { q: "", sort: "-modified" },
  { q: "cell", filters: { species: ["rat"] } },
];

describe("streaming index build", () => {
  it("gives the same results and counts whatever order documents arrive in", () => {
    const inOrder = buildIndex(CORPUS, OPTIONS);
    const reversed = streamed([...CORPUS].reverse());
    const shuffled = streamed(
      [...CORPUS].sort((a, b) => (a.id.length - b.id.length) * 7 + (a.id < b.id ? 1 : -1)),
    );
    for (const params of QUERIES) {
      const expected = inOrder.search(params);
      assert.deepEqual(reversed.search(params), expected, JSON.stringify(params));
      assert.deepEqual(shuffled.search(params), expected, JSON.stringify(params));
    }
  });

  it("indexes fields, facets and sort keys that first appear in a later document", () => {
    const builder = new IndexBuilder({ fields: { name: 2 } });
    builder.add({ id: "b", text: { name: "granule cell" }, facets: { kind: ["morphology"] } });
    builder.add({
      id: "a",
      text: { name: "basket cell", notes: "parvalbumin positive" },
      facets: { kind: ["model"], species: ["rat", "rat"] },
      sort: { year: 2020 },
    });
    builder.add({ id: "c", text: { notes: "parvalbumin" }, facets: {} });
    const index = new SearchIndex(builder.finish());
    assert.deepEqual(
      index.search({ q: "parvalbumin" }).hits.map((h) => h.id),
      ["c", "a"],
    );
    const all = index.search({ q: "", sort: "-year" });
    assert.deepEqual(
      all.hits.map((h) => h.id),
      ["a", "b", "c"],
    );
    assert.deepEqual(all.facets.species, [{ value: "rat", count: 1 }]);
    assert.deepEqual(
      index.search({ q: "", filters: { kind: ["morphology"] } }).hits.map((h) => h.id),
      ["b"],
    );
  });

  it("refuses two documents with one id", () => {
    const builder = new IndexBuilder(OPTIONS);
    builder.add(CORPUS[0]!);
    builder.add(CORPUS[1]!);
    builder.add(CORPUS[0]!);
    assert.throws(
      () => builder.finish(),
      (err: unknown) => err instanceof ApiError && err.message.includes(JSON.stringify(CORPUS[0]!.id)),
    );
  });
});
