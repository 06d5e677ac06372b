import assert from "node:assert/strict";
import { catalogAdminApi, catalogApi } from "../../src/api/catalog.js";
import type { CatalogRecord } from "../../src/schemas/catalog.js";
import type { CatalogSearchResponse, IndexPointer } from "../../src/schemas/catalog-search.js";
import { readIndexPointer } from "../../src/services/catalog/search-index.js";
import { firestore } from "../../src/store/firebase.js";
import { checkMatrix } from "../helpers/matrix.js";
import { call, personaTokens, seedPersonas, serve, type Persona } from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";
import { BUCKET, record, startWorld, writeRecords, type CatalogWorld } from "./fixture.js";

describe("catalog search", () => {
  let world: CatalogWorld;
  let tokens: Record<Persona, string | undefined>;
  let pointer: IndexPointer;

  const search = async (qs: string, token = tokens.reader) =>
    call<CatalogSearchResponse>(world.api.url, "GET", `/v2/catalog/search${qs}`, { token });
  const ids = (r: { body: CatalogSearchResponse }) => r.body.hits.map((h) => h.id);

  before(async () => {
    await clearFirestore();
    await seedPersonas();
    tokens = await personaTokens();
    world = await startWorld();
    await writeRecords(world.records);
    pointer = await world.publish();
  });
  after(async () => world.close());

  describe("index lifecycle", () => {
    it("publishes the blob to the catalog bucket and points at it from Firestore", async () => {
      assert.equal(pointer.records, world.records.length);
      assert.equal(pointer.bucket, BUCKET);
      assert.match(pointer.object!, /^catalog\/search-index\/.+\.bin$/);
      const [meta] = await world.storage.bucket(BUCKET).file(pointer.object!).getMetadata();
      assert.equal(String(meta.generation), pointer.generation);
      assert.equal(Number(meta.size), pointer.bytes);
      assert.deepEqual(await readIndexPointer(firestore()), pointer);
    });

    it("serves from the published blob and reloads when the pointer changes", async () => {
      const before = await search("?q=trisynaptic");
      assert.equal(before.status, 200);
      assert.equal(before.body.total, 0);
      assert.equal(before.body.index.origin, "published");

      const extra = record({
        id: "modeldb:9999",
        kind: "model",
        name: "Trisynaptic loop model",
        brainRegions: ["hippocampus"],
      });
      await writeRecords([extra]);
      // Written but not yet indexed: search still answers from the published index.
      assert.equal((await search("?q=trisynaptic")).body.total, 0);
      const next = await world.publish();
      assert.notEqual(next.object, pointer.object);
      const after = await search("?q=trisynaptic");
      assert.deepEqual(ids(after), ["modeldb:9999"]);
      assert.equal(after.body.index.records, world.records.length + 1);

      // The blob before the current one is kept for instances still reading it; older ones go.
      const third = await world.publish();
      const [files] = await world.storage.bucket(BUCKET).getFiles({ prefix: "catalog/search-index/" });
      assert.deepEqual(files.map((f) => f.name).sort(), [next.object, third.object].sort());

      await firestore().collection("catalog_records").doc("modeldb:9999").delete();
      pointer = await world.publish();
    });

    it("without a bucket or a published index, an instance indexes a small catalog itself", async () => {
      const saved = await firestore().collection("catalog_index").doc("current").get();
      await saved.ref.delete();
      const local = await serve([catalogApi, catalogAdminApi], {
        catalogBucket: "",
        catalogIndexCheckSeconds: 0,
      });
      try {
        const res = await call<CatalogSearchResponse>(local.url, "GET", "/v2/catalog/search?q=stellate", {
          token: tokens.reader,
        });
        assert.equal(res.status, 200);
        assert.deepEqual(ids(res), ["neuromorpho:3"]);
        assert.equal(res.body.index.origin, "local");
      } finally {
        await local.close();
        await saved.ref.set(saved.data()!);
      }
    });

    it("a published blob that cannot be read is a 503, not an internal error", async () => {
      const ref = firestore().collection("catalog_index").doc("current");
      await ref.set({ ...pointer, object: "catalog/search-index/gone.bin" });
      const other = await serve([catalogApi, catalogAdminApi], {
        storageApiEndpoint: world.gcs.url,
        catalogBucket: BUCKET,
      });
      try {
        const res = await call(other.url, "GET", "/v2/catalog/search?q=ca1", { token: tokens.reader });
        assert.equal(res.status, 503);
      } finally {
        await other.close();
        await ref.set(pointer);
      }
    });

    it("a catalog too large to index on demand answers 503 until an index is published", async () => {
      const db = firestore();
      const saved = await db.collection("catalog_index").doc("current").get();
      await saved.ref.delete();
      const local = await serve([catalogApi, catalogAdminApi], {
        catalogBucket: "",
        catalogLocalBuildMaxRecords: 3,
      });
      try {
        const res = await call(local.url, "GET", "/v2/catalog/search?q=ca1", { token: tokens.reader });
        assert.equal(res.status, 503);
        assert.match((res.body as { detail: string }).detail, /POST \/v2\/catalog\/index/);
      } finally {
        await local.close();
        await saved.ref.set(saved.data()!);
      }
    });
  });

  describe("ranking", () => {
    it("ranks name matches above description-only matches", async () => {
      const res = await search("?q=granule");
      assert.equal(res.status, 200);
      assert.equal(res.body.match, "all");
      // "DG Granule" (short name) > DANDI dataset (name mentions granule cells) > the DG network
      // model (granule only in its cell types and description).
      assert.deepEqual(ids(res), ["hippocampome:1000", "dandi:000003", "modeldb:5"]);
      const scores = res.body.hits.map((h) => h.score);
      assert.deepEqual(
        scores,
        [...scores].sort((a, b) => b - a),
      );
    });

    it("requires every word and prefers the shortest field that has them", async () => {
      const res = await search("?q=CA1%20pyramidal");
      assert.deepEqual(ids(res), ["hippocampome:2000", "modeldb:3", "neuromorpho:1"]);
    });

    it("matches the last word as a prefix, and word* anywhere", async () => {
      assert.deepEqual(ids(await search("?q=entorh")), ["neuromorpho:3"]);
      assert.deepEqual(ids(await search("?q=stell*%20rat")), ["neuromorpho:3"]);
      const pyr = ids(await search("?q=pyram&limit=50"));
      for (const id of ["hippocampome:2000", "modeldb:3", "modeldb:2488", "neuromorpho:1", "neuromorpho:4"]) {
        assert.ok(pyr.includes(id), `${id} matches the prefix pyram`);
      }
    });

    it("finds identifiers and hyphenated names whole", async () => {
      assert.deepEqual(ids(await search("?q=n409")), ["neuromorpho:1"]);
      assert.deepEqual(ids(await search("?q=Pinsky-Rinzel")), ["modeldb:2488"]);
      assert.equal(ids(await search("?q=O-LM"))[0], "hippocampome:2010");
    });

    it("falls back to records with most words when none has them all", async () => {
      const res = await search("?q=stellate%20zebrafish");
      assert.equal(res.body.match, "some");
      assert.deepEqual(ids(res), ["neuromorpho:3"]);
    });

    it("sorts by source modification time on request", async () => {
      const res = await search("?kind=model&sort=-sourceModified");
      assert.deepEqual(ids(res), ["modeldb:3", "modeldb:2488", "modeldb:5"]);
      const asc = await search("?kind=model&sort=sourceModified");
      assert.deepEqual(ids(asc), ["modeldb:5", "modeldb:2488", "modeldb:3"]);
    });
  });

  describe("filters and facets", () => {
    it("filters on any facet: OR within a facet, AND across facets", async () => {
      const res = await search("?kind=model&kind=neuron%20type&brainRegions=CA1&limit=50");
      assert.deepEqual(ids(res).sort(), ["hippocampome:2000", "hippocampome:2010", "modeldb:3"]);
      const attr = await search("?attributes.simulator=NEURON");
      assert.deepEqual(ids(attr).sort(), ["modeldb:2488", "modeldb:3"]);
      const withQuery = await search("?q=pyramidal&species=mouse");
      assert.deepEqual(ids(withQuery), ["hippocampome:2000"]);
    });

    it("counts every value of every facet, each without its own filter", async () => {
      const res = await search("?limit=0");
      assert.equal(res.body.total, world.records.length - 1, "the withdrawn record is left out");
      assert.deepEqual(res.body.hits, []);
      const kinds = Object.fromEntries(res.body.facets.kind!.map((f) => [f.value, f.count]));
      assert.deepEqual(kinds, { morphology: 4, model: 3, "neuron type": 3, dataset: 1 });
      // More than ten distinct cell types, all of them counted (the reference stopped at 10).
      const cellTypes = res.body.facets.cellTypes!;
      const distinct = new Set(world.records.filter((r) => !r.withdrawn).flatMap((r) => r.cellTypes));
      assert.ok(distinct.size > 10);
      assert.equal(cellTypes.length, distinct.size);
      assert.deepEqual(cellTypes[0], { value: "principal cell", count: 3 });
      assert.ok(res.body.facets["attributes.channels"]!.some((f) => f.value === "I Na,t" && f.count === 2));

      const filtered = await search("?kind=model&limit=0");
      assert.equal(filtered.body.total, 3);
      // kind's own counts ignore the kind filter, so the other kinds stay selectable...
      assert.equal(filtered.body.facets.kind!.length, 4);
      // ...while the other facets count only models.
      assert.deepEqual(filtered.body.facets.source, [{ value: "modeldb", count: 3 }]);
    });

    it("counts only the facets asked for", async () => {
      const res = await search("?limit=0&facets=species,status");
      assert.deepEqual(Object.keys(res.body.facets).sort(), ["species", "status"]);
      const none = await search("?limit=0&facets=");
      assert.deepEqual(none.body.facets, {});
    });

    it("leaves withdrawn records out unless status is filtered", async () => {
      const res = await search("?q=place");
      assert.equal(res.body.total, 0);
      assert.deepEqual(res.body.facets.status, [{ value: "withdrawn", count: 1 }]);
      assert.deepEqual(ids(await search("?q=place&status=withdrawn")), ["dandi:000004"]);
      const both = await search("?q=hippocampal&status=current&status=withdrawn");
      assert.deepEqual(ids(both).sort(), ["dandi:000003", "dandi:000004"]);
      assert.equal(both.body.hits.find((h) => h.id === "dandi:000004")!.withdrawn, true);
    });

    it("an attribute facet no record has is valid and empty", async () => {
      const res = await search("?attributes.nothing=x");
      assert.equal(res.status, 200);
      assert.equal(res.body.total, 0);
      const counted = await search("?limit=0&facets=attributes.nothing");
      assert.deepEqual(counted.body.facets, { "attributes.nothing": [] });
    });
  });

  describe("paging", () => {
    async function walk(qs: string, limit: number): Promise<string[]> {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 50; page++) {
        const res: { status: number; body: CatalogSearchResponse; headers: Headers } = await search(
          `${qs}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        );
        assert.equal(res.status, 200);
        assert.ok(res.body.hits.length <= limit);
        seen.push(...ids(res));
        assert.equal(res.headers.get("x-next-cursor"), res.body.next);
        cursor = res.body.next;
        if (!cursor) break;
      }
      return seen;
    }

    it("walks every result once, in order, without gaps or duplicates", async () => {
      const all = await search("?limit=200");
      for (const limit of [1, 2, 5]) {
        const walked = await walk("?", limit);
        assert.deepEqual(walked, ids(all), `limit ${limit}`);
      }
      const ranked = await search("?q=cell&limit=200");
      assert.ok(ranked.body.total >= 4);
      assert.deepEqual(await walk("?q=cell", 2), ids(ranked));
    });

    it("refuses a cursor of another query", async () => {
      const first = await search("?q=cell&limit=1");
      const res = await search(`?q=model&limit=1&cursor=${encodeURIComponent(first.body.next!)}`);
      assert.equal(res.status, 400);
    });
  });

  describe("records by id", () => {
    it("returns the full record", async () => {
      const res = await call<CatalogRecord>(world.api.url, "GET", "/v2/catalog/records/neuromorpho%3A1", {
        token: tokens.reader,
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, world.records[0]);
      const colon = await call(world.api.url, "GET", "/v2/catalog/records/dandi:000003", {
        token: tokens.reader,
      });
      assert.equal(colon.status, 200);
    });

    it("404s an unknown id", async () => {
      const res = await call(world.api.url, "GET", "/v2/catalog/records/neuromorpho%3A424242", {
        token: tokens.reader,
      });
      assert.equal(res.status, 404);
      assert.equal((res.body as { code: string }).code, "not_found");
    });
  });

  describe("bad input", () => {
    for (const [qs, what] of [
      ["?colour=red", "an unknown facet filter"],
      ["?facets=species,colour", "an unknown facet to count"],
      ["?limit=abc", "a non-numeric limit"],
      ["?limit=201", "a limit above the maximum"],
      ["?limit=-1", "a negative limit"],
      ["?sort=bogus", "an unknown sort"],
      ["?q=a&q=b", "a repeated q"],
      ["?cursor=not-a-cursor", "a malformed cursor"],
    ] as const) {
      it(`400s ${what}`, async () => {
        const res = await search(qs);
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal((res.body as unknown as { code: string }).code, "invalid_argument");
      });
    }
  });

  describe("permissions", () => {
    const readable = {
      anonymous: 401,
      unknown: 200,
      reader: 200,
      writer: 200,
      datasetAdmin: 200,
      admin: 200,
      disabled: 403,
    };
    // checkMatrix clears Firestore; put the catalog back (the index itself lives in storage).
    const reseed = async () => {
      await writeRecords(world.records);
      await firestore().collection("catalog_index").doc("current").set(pointer);
    };

    it("search: any signed-in user", async () => {
      await checkMatrix(
        world.api,
        tokens,
        { method: "GET", path: "/v2/catalog/search?q=ca1" },
        readable,
        reseed,
      );
    });

    it("record by id: any signed-in user", async () => {
      await checkMatrix(
        world.api,
        tokens,
        { method: "GET", path: "/v2/catalog/records/neuromorpho%3A1" },
        readable,
        reseed,
      );
    });

    it("index pointer: any signed-in user", async () => {
      await checkMatrix(world.api, tokens, { method: "GET", path: "/v2/catalog/index" }, readable, reseed);
    });
  });
});
