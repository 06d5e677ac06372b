import assert from "node:assert/strict";
import { ApiError } from "../../src/errors.js";
import {
  buildIndex,
  deserialize,
  normalize,
  type SearchDocument,
  type SearchIndex,
  type SearchParams,
} from "../../src/search/index.js";
import { CORPUS, OPTIONS } from "./corpus.js";

const ids = (index: SearchIndex, params: SearchParams) => index.search(params).hits.map((h) => h.id);
const byId = new Map(CORPUS.map((d) => [d.id, d]));
const facetOf = (id: string, facet: string) => byId.get(id)!.facets[facet] ?? [];

function allPages(index: SearchIndex, params: SearchParams, limit: number): string[] {
  const out: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const r = index.search({ ...params, limit, ...(cursor ? { cursor } : {}) });
    out.push(...r.hits.map((h) => h.id));
    cursor = r.nextCursor;
    if (!cursor) return out;
  }
  throw new Error("paging did not end");
}

describe("search engine", () => {
  const index = buildIndex(CORPUS, OPTIONS);

  describe("ranking", () => {
    it("ranks name matches above field matches above description-only matches", () => {
      const r = index.search({ q: "granule" });
      assert.equal(r.match, "all");
      assert.deepEqual(
        r.hits.map((h) => h.id),
        [
          "hippocampome:1000", // name "DG Granule", short
          "dandi:000061", // name, longer, plus cell type
          "hippocampome:conn-1000-1002", // name "DG Granule → DG Mossy"
          "neuromorpho:2001", // cell type + description
          "modeldb:144488", // cell type + description, longer
        ],
      );
    });

    it("puts the records named after both words first for a two-word query", () => {
      const r = index.search({ q: "CA1 pyramidal" });
      assert.equal(r.total, 5);
      assert.deepEqual(
        r.hits.slice(0, 2).map((h) => h.id),
        ["hippocampome:2000", "modeldb:20212"],
      );
      assert.deepEqual(
        r.hits
          .slice(2)
          .map((h) => h.id)
          .sort(),
        ["dandi:000044", "neuromorpho:1001", "neuromorpho:1002"],
      );
      for (let i = 1; i < r.hits.length; i++) assert.ok(r.hits[i - 1]!.score >= r.hits[i]!.score);
    });

    it("weights fields as configured: name > cell types > description", () => {
      const doc = (id: string, where: "name" | "cellTypes" | "description"): SearchDocument => ({
        id,
        text: { name: "x", cellTypes: "y", description: "z", [where]: "chandelier" },
        facets: {},
      });
      const small = buildIndex(
        [doc("c", "description"), doc("a", "cellTypes"), doc("b", "name"), { id: "d", text: {}, facets: {} }],
        { fields: { name: 3, cellTypes: 2, description: 1 } },
      );
      assert.deepEqual(ids(small, { q: "chandelier" }), ["b", "a", "c"]);
    });

    it("breaks score ties by id, whatever the input order", () => {
      const twin = (id: string): SearchDocument => ({ id, text: { name: "ivy cell" }, facets: {} });
      const small = buildIndex([twin("m"), twin("b"), twin("x"), twin("a")], { fields: { name: 1 } });
      const r = small.search({ q: "ivy" });
      assert.deepEqual(
        r.hits.map((h) => h.id),
        ["a", "b", "m", "x"],
      );
      assert.equal(new Set(r.hits.map((h) => h.score)).size, 1);
    });

    it("falls back to documents matching some words when none match all", () => {
      const r = index.search({ q: "CA1 mitral" });
      assert.equal(r.match, "some");
      assert.equal(r.hits[0]!.id, "modeldb:87284"); // the only "mitral" record: the rarer word
      assert.ok(r.total > 1);
      assert.equal(index.search({ q: "zzzunknown qqqunknown" }).total, 0);
    });
  });

  describe("prefixes", () => {
    it("treats the last word as a prefix", () => {
      const r = index.search({ q: "pyram" });
      const expected = CORPUS.filter((d) => JSON.stringify(d.text).toLowerCase().includes("pyram")).length;
      assert.equal(r.total, expected);
      // Named pyramidal types beat records that only list the cell type.
      assert.deepEqual(
        r.hits
          .slice(0, 2)
          .map((h) => h.id)
          .sort(),
        ["hippocampome:2000", "hippocampome:2002"],
      );
      assert.ok(ids(index, { q: "Theta-gamma netw" }).includes("modeldb:151282"));
    });

    it("matches an earlier word as a prefix only when written with *", () => {
      assert.equal(index.search({ q: "interneur CA1" }).match, "some");
      const r = index.search({ q: "interneur* CA1" });
      assert.equal(r.match, "all");
      assert.ok(r.total >= 4);
      assert.equal(index.search({ q: "pyram", prefix: false }).total, 0);
    });

    it("ranks the exact word above longer completions", () => {
      const small = buildIndex(
        [
          { id: "1", text: { name: "CA10 region" }, facets: {} },
          { id: "2", text: { name: "CA1 region" }, facets: {} },
        ],
        { fields: { name: 1 } },
      );
      assert.deepEqual(ids(small, { q: "ca1" }), ["2", "1"]);
    });
  });

  describe("identifiers and normalization", () => {
    for (const [q, id] of [
      ["hc328_unperturbed", "neuromorpho:2002"],
      ["hc328", "neuromorpho:2002"],
      ["unperturbed", "neuromorpho:2002"],
      ["2023-04-02", "neuromorpho:2002"],
      ["NMO_00001", "neuromorpho:2001"],
      ["nmo_00001", "neuromorpho:2001"],
      ["hc328_unp", "neuromorpho:2002"],
      ["DANDI:000027", "dandi:000027"],
      ["Wearne_Hof cnic_001", "neuromorpho:1"],
    ] as const) {
      it(`finds ${q} as a whole identifier`, () => {
        assert.deepEqual(ids(index, { q }), [id]);
      });
    }

    it("matches a hyphenated name whole, and its parts separately", () => {
      const olm = ids(index, { q: "O-LM" }).sort();
      assert.deepEqual(olm, ["hippocampome:2001", "modeldb:151282", "neuromorpho:2003"]);
      // A date is not three numbers anywhere in the record.
      assert.deepEqual(ids(index, { q: "2005-03-14" }), ["neuromorpho:1001"]);
      // An identifier the index does not hold falls back to its parts.
      assert.ok(ids(index, { q: "CA3-pyramidal" }).includes("hippocampome:2002"));
    });

    it("ignores case and diacritics on both sides", () => {
      for (const q of ["reseau", "RÉSEAU", "modele", "garcon", "Müller", "muller", "soren", "Søren"]) {
        assert.deepEqual(ids(index, { q }), ["modeldb:267001"], q);
      }
      assert.equal(normalize("Ångström Straße"), "angstrom strasse");
    });
  });

  describe("filters and facets", () => {
    it("ORs values within a facet and ANDs facets", () => {
      const rat = ids(index, { filters: { species: ["rat"] }, limit: 100 });
      assert.deepEqual(
        rat,
        CORPUS.filter((d) => facetOf(d.id, "species").includes("rat"))
          .map((d) => d.id)
          .sort(),
      );
      const ratOrMouse = ids(index, { filters: { species: ["rat", "mouse"] }, limit: 100 });
      assert.equal(
        ratOrMouse.length,
        CORPUS.filter((d) => facetOf(d.id, "species").some((s) => s === "rat" || s === "mouse")).length,
      );
      const ratCa1 = ids(index, { filters: { species: ["rat"], region: ["CA1"] }, limit: 100 });
      assert.deepEqual(ratCa1, [
        "neuromorpho:1001",
        "neuromorpho:1002",
        "neuromorpho:2010",
        "neuromorpho:2011",
      ]);
      const ratCa1Ivy = ids(index, { q: "ivy", filters: { species: ["rat"], region: ["CA1"] } });
      assert.deepEqual(ratCa1Ivy, ["neuromorpho:2010"]);
      assert.equal(index.search({ filters: { species: ["unicorn"] } }).total, 0);
    });

    it("rejects an unknown facet", () => {
      assert.throws(
        () => index.search({ filters: { colour: ["red"] } }),
        (e: unknown) => e instanceof ApiError && e.code === "invalid_argument",
      );
    });

    it("counts every facet value (more than 10) over the matching documents", () => {
      const r = index.search({ limit: 0 });
      assert.equal(r.total, CORPUS.length);
      const expected = new Map<string, number>();
      for (const d of CORPUS)
        for (const v of d.facets.region ?? []) expected.set(v, (expected.get(v) ?? 0) + 1);
      assert.ok(expected.size > 10);
      assert.equal(r.facets.region!.length, expected.size);
      for (const { value, count } of r.facets.region!) assert.equal(count, expected.get(value), value);
      const counts = r.facets.region!.map((f) => f.count);
      assert.deepEqual(
        counts,
        [...counts].sort((a, b) => b - a),
      );
      assert.deepEqual(r.facets.region![0], { value: "hippocampus", count: expected.get("hippocampus") });

      assert.equal(index.search({ limit: 0, facetLimit: 3 }).facets.region!.length, 3);
      assert.deepEqual(Object.keys(index.search({ facets: ["kind"] }).facets), ["kind"]);
    });

    it("counts a filtered facet without its own filter, the others with it", () => {
      const r = index.search({ q: "interneuron", filters: { species: ["rat"] }, limit: 0 });
      const matching = CORPUS.filter((d) => JSON.stringify(d.text).toLowerCase().includes("interneuron"));
      const rat = matching.filter((d) => facetOf(d.id, "species").includes("rat"));
      assert.equal(r.total, rat.length);
      // Species lists the alternatives a user could add.
      const species = Object.fromEntries(r.facets.species!.map((f) => [f.value, f.count]));
      assert.equal(species.rat, rat.length);
      assert.equal(species.mouse, matching.filter((d) => facetOf(d.id, "species").includes("mouse")).length);
      // Kind is counted over the rat results only.
      const kinds = r.facets.kind!.reduce((s, f) => s + f.count, 0);
      assert.equal(kinds, rat.length);
    });
  });

  describe("paging", () => {
    for (const params of [
      {},
      { q: "cell" },
      { q: "hippocampus CA1" },
      { sort: "-modified" },
    ] as SearchParams[]) {
      it(`pages ${JSON.stringify(params)} with a cursor and with offsets, without gaps or duplicates`, () => {
        const all = ids(index, { ...params, limit: 1000 });
        assert.ok(all.length > 3);
        const byCursor = allPages(index, params, 3);
        assert.deepEqual(byCursor, all);
        const byOffset: string[] = [];
        for (let offset = 0; offset < all.length; offset += 4)
          byOffset.push(...ids(index, { ...params, offset, limit: 4 }));
        assert.deepEqual(byOffset, all);
        assert.equal(new Set(all).size, all.length);
        assert.equal(index.search({ ...params, limit: 3 }).total, all.length);
      });
    }

    it("rejects a cursor from another query, a garbled cursor, and offset with cursor", () => {
      const { nextCursor } = index.search({ q: "cell", limit: 2 });
      assert.ok(nextCursor);
      const invalid = (e: unknown) => e instanceof ApiError && e.code === "invalid_argument";
      assert.throws(() => index.search({ q: "granule", cursor: nextCursor }), invalid);
      assert.throws(() => index.search({ q: "cell", cursor: "not-a-cursor" }), invalid);
      assert.throws(() => index.search({ q: "cell", cursor: nextCursor, offset: 2 }), invalid);
      assert.throws(() => index.search({ limit: 100_000 }), invalid);
    });

    it("sorts by a numeric key, documents without it last", () => {
      const withDate: SearchDocument[] = [
        { id: "a", text: { name: "cell" }, facets: {}, sort: { t: 1 } },
        { id: "b", text: { name: "cell" }, facets: {} },
        { id: "c", text: { name: "cell" }, facets: {}, sort: { t: 3 } },
      ];
      const small = buildIndex(withDate, { fields: { name: 1 } });
      assert.deepEqual(ids(small, { q: "cell", sort: "-t" }), ["c", "a", "b"]);
      assert.deepEqual(ids(small, { q: "cell", sort: "t" }), ["a", "c", "b"]);
      assert.throws(() => small.search({ sort: "nope" }), ApiError);
    });
  });

  describe("serialization", () => {
    const queries: SearchParams[] = [
      {},
      { q: "CA1 pyramidal" },
      { q: "pyram", filters: { species: ["rat", "mouse"] } },
      { q: "CA1 mitral" },
      { q: "hc328_unperturbed" },
      { q: "reseau" },
      { sort: "-modified", limit: 5, offset: 3 },
      { q: "cell", facetLimit: 2 },
    ];

    it("gives identical results after a round trip, even from an unaligned buffer", () => {
      const blob = index.serialize();
      const unaligned = Buffer.alloc(blob.byteLength + 3);
      blob.copy(unaligned, 3);
      for (const copy of [deserialize(blob), deserialize(unaligned.subarray(3))]) {
        assert.equal(copy.size, index.size);
        for (const q of queries) assert.deepEqual(copy.search(q), index.search(q), JSON.stringify(q));
        // A cursor from one instance works on another built from the same blob.
        const first = index.search({ q: "cell", limit: 3 });
        assert.deepEqual(
          copy.search({ q: "cell", limit: 3, cursor: first.nextCursor! }),
          index.search({ q: "cell", limit: 3, cursor: first.nextCursor! }),
        );
      }
    });

    it("refuses a blob that is not an index, or is truncated", () => {
      const blob = index.serialize();
      assert.throws(() => deserialize(Buffer.from("hello world, not an index")), ApiError);
      assert.throws(() => deserialize(blob.subarray(0, blob.byteLength - 16)), ApiError);
    });
  });

  describe("hostile input", () => {
    const same = (a: string, b: string) =>
      assert.deepEqual(index.search({ q: a }), index.search({ q: b }), a);

    it("treats operators, quotes and column syntax as plain words", () => {
      same("CA1 OR CA3", "ca1 ca3");
      same("CA1 AND pyramidal", "CA1 pyramidal");
      same('"CA1 pyramidal"', "CA1 pyramidal");
      same("NOT granule", "granule");
      // "name" is just a word that no record contains, so only the CA1 half can match.
      const column = index.search({ q: "name:CA1" });
      assert.equal(column.match, "some");
      assert.deepEqual(column.hits, index.search({ q: "CA1" }).hits);
      same("CA1*", "CA1");
      same("(granule) -mossy", "granule mossy");
      // Not an OR: every hit has CA1 (the fallback is reported as "some").
      assert.equal(index.search({ q: "CA1 OR pyramidal" }).match, "all");
    });

    it("never throws on odd input", () => {
      const inputs = [
        "*",
        "**",
        "'",
        "o'brien",
        "\"'); DROP TABLE experiments; --",
        ":::",
        "-",
        "NEAR(a b)",
        "^ca1",
        "\u0000\u0001",
        "\ud800 lone surrogate",
        "🧠 neurons",
        "x".repeat(100_000),
        "CA1 ".repeat(50_000),
        Array.from({ length: 500 }, (_, i) => `w${i}`).join(" "),
      ];
      for (const q of inputs) {
        const r = index.search({ q, filters: { region: [q] } });
        assert.ok(r.total >= 0);
      }
      assert.equal(index.search({ q: "*" }).match, "none");
      assert.equal(index.search({ q: "CA1 ".repeat(50_000) }).total, index.search({ q: "CA1" }).total);
    });
  });
});
