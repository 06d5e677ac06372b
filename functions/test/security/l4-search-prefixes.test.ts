/**
 * Security review L4: `q=a* b* c* … 5*` (32 prefix words, each up to 256 expansions) made one
 * search do hundreds of times a normal query's work. A query now expands at most
 * MAX_PREFIX_WORDS prefix words and MAX_QUERY_EXPANSIONS terms in all; the rest match exactly.
 */
import assert from "node:assert/strict";
import { MAX_PREFIX_WORDS, MAX_QUERY_EXPANSIONS, SearchIndex } from "../../src/search/engine.js";
import type { SearchDocument } from "../../src/search/index.js";
import { OPTIONS } from "../search/corpus.js";

const ATTACK =
  "a* b* c* d* e* f* g* h* i* j* k* l* m* n* o* p* q* r* s* t* u* v* w* x* y* z* 0* 1* 2* 3* 4* 5*";

function doc(i: number, words: string[]): SearchDocument {
  return {
    id: `neuromorpho:${i}`,
    text: { name: words.join(" "), description: "", species: [], regions: [], cellTypes: [], keywords: [] },
    facets: { source: ["neuromorpho"], kind: ["morphology"], species: [], region: [], cellType: [] },
    sort: { modified: 0 },
  };
}

describe("security L4: prefix expansion budget", () => {
  // 36 letters × 300 distinct words each: every prefix of the attack has more than 256 completions.
  const letters = "abcdefghijklmnopqrstuvwxyz012345".split("");
  const docs: SearchDocument[] = [];
  let n = 0;
  for (const l of letters)
    for (let i = 0; i < 300; i += 10)
      docs.push(
        doc(
          n++,
          Array.from({ length: 10 }, (_, k) => `${l}w${i + k}`),
        ),
      );
  const index = SearchIndex.build(docs, OPTIONS);

  it("the review's 32-prefix query expands at most MAX_PREFIX_WORDS prefixes and MAX_QUERY_EXPANSIONS terms", () => {
    const proto = SearchIndex.prototype as unknown as {
      expand: (this: unknown, prefix: string) => unknown[];
    };
    const original = proto.expand;
    const calls: string[] = [];
    proto.expand = function (this: unknown, prefix: string) {
      calls.push(prefix);
      return original.call(this, prefix);
    };
    try {
      const result = index.search({ q: ATTACK });
      assert.ok(result);
    } finally {
      proto.expand = original;
    }
    assert.ok(calls.length <= MAX_PREFIX_WORDS, `${calls.length} prefixes expanded: ${calls.join(",")}`);
    assert.equal(MAX_QUERY_EXPANSIONS, 512);
  });

  it("a normal prefix query still completes", () => {
    const result = index.search({ q: "aw1*" });
    assert.ok(result.total > 0);
  });
});
