/**
 * Each harvester against the loopback upstream, which serves the RECORDED REAL responses
 * (functions/loopback/recorded): the exact records the recordings imply, and each point of the
 * harvest review (../shared/reference/harvest-review.md) with the response that shows it.
 */
import assert from "node:assert/strict";

import type { Firestore } from "firebase-admin/firestore";

import { startUpstreamServer, type UpstreamServer } from "../../loopback/upstream.js";
import type { CatalogRecord } from "../../src/schemas/catalog.js";
import { toSearchDocument } from "../../src/schemas/catalog.js";
import { runHarvest } from "../../src/services/harvest.js";
import { firestore } from "../../src/store/firebase.js";
import { clearFirestore } from "../setup/hooks.js";
import { fastOptions, quietLog, record, recordDoc, recordsOf } from "./helpers.js";

const ids = (records: CatalogRecord[]) => records.map((r) => r.id).sort();

describe("harvest: each source against its recorded real responses", () => {
  let db: Firestore;
  let upstream: UpstreamServer;
  const deps = () => ({ db, log: quietLog });

  beforeEach(async () => {
    db = firestore();
    await clearFirestore();
    upstream = await startUpstreamServer();
  });
  afterEach(async () => upstream.close());

  describe("NeuroMorpho", () => {
    it("harvests every hippocampal neuron with derived file URLs, https links and the citations", async () => {
      const run = await runHarvest(deps(), "neuromorpho", fastOptions(upstream.url, { pageSize: 10 }));
      assert.equal(run.status, "complete");
      assert.deepEqual(
        { fetched: run.counts.fetched, created: run.counts.created, unreadable: run.counts.unreadable },
        { fetched: 35, created: 35, unreadable: 0 },
      );
      const records = await recordsOf(db, "neuromorpho");
      // Neuron 1 (neocortex) and the one neocortical sample are not selected.
      assert.equal(records.length, 35);
      assert.ok(records.every((r) => r.brainRegions[0] === "hippocampus"));
      assert.ok(!records.some((r) => r.id === "neuromorpho:1"));

      const r = await record(db, "neuromorpho:900001");
      assert.equal(r.name, "recon-amaral-hc001");
      assert.equal(r.licence, "CC-BY-4.0");
      assert.deepEqual(r.species, ["mouse"]);
      assert.deepEqual(r.brainRegions, ["hippocampus", "CA1", "pyramidal layer"]);
      assert.deepEqual(r.files, [
        {
          url: `${upstream.url}/dableFiles/amaral/CNG%20version/recon-amaral-hc001.CNG.swc`,
          format: "swc",
          name: "recon-amaral-hc001.CNG.swc",
          role: "standardized",
        },
        {
          url: `${upstream.url}/dableFiles/amaral/Source-Version/recon-amaral-hc001.asc`,
          format: "asc",
          name: "recon-amaral-hc001.asc",
          role: "original",
        },
      ]);
      assert.deepEqual(
        r.citations.map((c) => c.text),
        [
          "PMID:19000000",
          "doi:10.0000/reconstructed.0",
          "NeuroMorpho.Org (RRID:SCR_002145)",
          "Tecuatl C, Ljungquist B, Ascoli GA (2024) FASEB BioAdvances 6(7):207-221",
        ],
      );
      assert.ok(!upstream.requests.some((p) => p.includes(".jsp") || p.startsWith("/dableFiles")));
    });

    it("review §1: no undocumented sort on /select; thumbnails and API links over https", async () => {
      await runHarvest(deps(), "neuromorpho", fastOptions(upstream.url, { pageSize: 50 }));
      const selects = upstream.requests.filter((p) => p.startsWith("/api/neuron/select"));
      assert.ok(selects.length > 0 && selects.every((p) => !p.includes("sort=")));
      for (const r of await recordsOf(db, "neuromorpho")) {
        for (const link of r.links.filter((l) => l.rel !== "page")) assert.match(link.url, /^https:\/\//);
      }
    });

    it("review §1: only Custom.xml becomes .morph.xml; other extensions keep their case (DAT)", async () => {
      await runHarvest(deps(), "neuromorpho", fastOptions(upstream.url, { pageSize: 50 }));
      const originals = (await recordsOf(db, "neuromorpho")).flatMap((r) =>
        r.files
          .filter((f) => f.role === "original")
          .map((f) =>
            f.url
              .split("/")
              .pop()!
              .replace(/^[^.]+\./, ""),
          ),
      );
      assert.deepEqual([...new Set(originals)].sort(), ["DAT", "asc", "morph.xml", "swc"]);
      const koninck = (await recordsOf(db, "neuromorpho")).find(
        (r) => r.attributes.archive?.[0] === "De Koninck",
      )!;
      assert.match(koninck.files[0]!.url, /\/dableFiles\/de%20koninck\/CNG%20version\//);
    });

    it("review §1: a select matching nothing is the real 404, read as an empty listing", async () => {
      const run = await runHarvest(
        deps(),
        "neuromorpho",
        fastOptions(upstream.url, { filters: { brainRegions: ["cerebellum"] } }),
      );
      assert.equal(run.status, "complete");
      assert.equal(run.counts.fetched, 0);
    });
  });

  describe("Hippocampome", () => {
    for (const encoding of ["plain", "double"] as const) {
      it(`yields types (short names, markers), connections; search answered ${encoding}`, async () => {
        upstream.hippocampomeEncoding = encoding;
        const run = await runHarvest(deps(), "hippocampome", fastOptions(upstream.url));
        assert.equal(run.status, "complete");
        assert.deepEqual(run.errors, []);
        const records = await recordsOf(db, "hippocampome");
        const types = records.filter((r) => r.kind === "neuron type");
        const connections = records.filter((r) => r.kind === "connection");
        // 35 from the search, 42 more active types from the type table that it does not list.
        assert.equal(types.length, 77);
        // The v2 table's pairs among these types flagged 1, 4 or 5 in `Connection?` (review §2).
        assert.equal(connections.length, 70);
        assert.equal(run.counts.created, 147);

        const granule = await record(db, "hippocampome:type:1000");
        assert.equal(granule.name, "DG Granule");
        assert.deepEqual(granule.brainRegions, ["hippocampal formation", "dentate gyrus"]);
        assert.deepEqual(granule.cellTypes, ["DG Granule", "Glutamatergic GC", "Granule"]);
        assert.deepEqual(granule.attributes.formalName, ["DG (e)2201p-CA3_00110-CA2_0010 Granule"]);
        assert.ok(granule.markers.includes("CB") && granule.markers.includes("Prox1"));
        assert.ok(!granule.markers.includes("PV"));
        assert.ok(granule.attributes.markersNegative!.includes("PV"));
        assert.equal(granule.citations[0]!.text, "Hippocampome.org (RRID:SCR_009023)");
        assert.equal(granule.licence, null);

        const mossy = await record(db, "hippocampome:type:1002");
        assert.deepEqual(mossy.markers, ["PCP4", "GluA2/3"]);
        assert.deepEqual(mossy.attributes.markersNegative, ["CB", "PV", "NG", "SOM"]);

        const pair = await record(db, "hippocampome:conn:1000-1036");
        assert.equal(pair.name, "DG Granule → DG Basket CCK+");
        assert.deepEqual(pair.layers, ["DG:H"], "v2 places it in the hilus; the pre-v2 file said DG:SG");
        assert.deepEqual(pair.attributes, { presynapticId: ["1000"], postsynapticId: ["1036"] });
      });
    }

    it("review §2: connections come from the published v2 table, only rows its Connection? flag marks", async () => {
      const run = await runHarvest(deps(), "hippocampome", fastOptions(upstream.url));
      assert.equal(run.status, "complete");
      assert.ok(!upstream.requests.some((p) => p.startsWith("/php/data/conndata.csv")), "pre-v2 file unused");
      assert.ok(upstream.requests.some((p) => p.endsWith("/iconv/latin1/conndata.csv")));
      const ids = new Set((await recordsOf(db, "hippocampome")).map((r) => r.id));
      assert.ok(ids.has("hippocampome:conn:1000-1002"), "flag 1: a connection");
      assert.ok(!ids.has("hippocampome:conn:1000-1004"), "flag empty: overlapping parcels, not assessed");
      assert.ok(!ids.has("hippocampome:conn:1010-1004"), "flag 0/-1: evidence against a connection");
      // Layers joined by `; ` in one row become the pair's layers.
      assert.deepEqual((await record(db, "hippocampome:conn:1005-1000")).layers, ["DG:SMo", "DG:SMi"]);
    });

    it("properties: morphology parcels and electrophysiology from the published tables", async () => {
      await runHarvest(deps(), "hippocampome", fastOptions(upstream.url));
      const granule = await record(db, "hippocampome:type:1000");
      assert.deepEqual(granule.attributes.axonLayers, ["DG:H", "CA3:SL", "CA3:SP", "CA2:SP"]);
      assert.deepEqual(granule.attributes.dendriteLayers, ["DG:SMo", "DG:SMi"]);
      assert.deepEqual(granule.attributes.somaLayers, ["DG:SG"]);
      assert.deepEqual(granule.layers, ["DG:SG", "DG:H", "CA3:SL", "CA3:SP", "CA2:SP", "DG:SMo", "DG:SMi"]);
      assert.equal(granule.attributes.electrophysiology!.length, 10);
      assert.deepEqual(granule.attributes["ephys Vrest (mV)"], ["-76.7 (5 reports)"]);
      assert.deepEqual(granule.attributes["ephys Rin (MΩ)"], ["169.18 (5 reports)"]);
      assert.deepEqual(granule.attributes["ephys max firing rate (Hz)"], ["72 (1 report)"]);
      // Searchable as facets: the attribute keys become `attributes.*` facets of the index.
      const facets = toSearchDocument(granule).facets;
      assert.deepEqual(facets["attributes.somaLayers"], ["DG:SG"]);
      assert.ok(facets["attributes.electrophysiology"]!.includes("sag ratio"));
    });

    it("properties: a type with no electrophysiology rows has morphology only", async () => {
      await runHarvest(deps(), "hippocampome", fastOptions(upstream.url));
      const basket = await record(db, "hippocampome:type:1036");
      assert.equal(basket.attributes.electrophysiology, undefined);
      assert.ok(basket.attributes.axonLayers!.length > 0);
    });

    it("review §2: active types the search does not list (no outgoing connection) come from the type table", async () => {
      await runHarvest(deps(), "hippocampome", fastOptions(upstream.url));
      const listedBySearch = new Set(upstream.ids("hippocampome"));
      assert.ok(!listedBySearch.has("1024"));
      const fromTable = await record(db, "hippocampome:type:1024");
      assert.equal(fromTable.kind, "neuron type");
      assert.deepEqual(fromTable.brainRegions, ["hippocampal formation", "dentate gyrus"]);
      assert.ok(fromTable.attributes.formalName![0]!.startsWith("DG ("));
      // An on-hold type of the table (DG IS-1) stays out.
      assert.equal((await recordDoc(db, "hippocampome:type:1016")).exists, false);
    });

    it("properties: the morphology table unavailable keeps the types, with the pattern's layers", async () => {
      upstream.faults.push({ match: "/morphdata.csv", kind: "status", status: 404, times: Infinity });
      const run = await runHarvest(deps(), "hippocampome", fastOptions(upstream.url));
      assert.equal(run.status, "complete");
      assert.ok(run.errors.some((e) => /details unavailable/.test(e.message) && !e.fatal));
      const granule = await record(db, "hippocampome:type:1000");
      assert.equal(granule.attributes.axonLayers, undefined);
      assert.deepEqual(granule.layers, ["DG:SMo", "DG:SMi", "DG:SG", "DG:H"]);
    });

    it("review §2: type.csv comes from the published file (the site 404s), search from /php/", async () => {
      await runHarvest(deps(), "hippocampome", fastOptions(upstream.url));
      assert.ok(!upstream.requests.some((p) => p.startsWith("/php/data/type.csv")));
      assert.ok(upstream.requests.some((p) => p.startsWith("/php/search_engine_json.php?query_str=")));
    });

    it("review §2: the help page's /csv2db/ search path is used when /php/ answers 404", async () => {
      upstream.faults.push({
        match: "/php/search_engine_json.php",
        kind: "status",
        status: 404,
        times: Infinity,
      });
      const run = await runHarvest(
        deps(),
        "hippocampome",
        fastOptions(upstream.url, { searchUrl: undefined }),
      );
      // The loopback serves /csv2db/ as the real site does: an Apache 404, so the run fails loudly.
      assert.equal(run.status, "paused");
      assert.ok(upstream.requests.some((p) => p.startsWith("/csv2db/search_engine_json.php")));
    });

    it("review §2: a configured subregion narrows the types (CA3c included), though the search does not", async () => {
      const run = await runHarvest(
        deps(),
        "hippocampome",
        fastOptions(upstream.url, { filters: { brainRegions: ["CA3"] } }),
      );
      assert.equal(run.status, "complete");
      const types = (await recordsOf(db, "hippocampome")).filter((r) => r.kind === "neuron type");
      assert.equal(types.length, 22);
      assert.ok(types.every((t) => t.brainRegions.includes("CA3")));
      assert.ok(types.some((t) => t.name === "CA3c Pyramidal"));
    });

    it("review §2: the published type table unavailable degrades names to short forms, the run stays complete", async () => {
      upstream.faults.push({ match: "/type.csv", kind: "status", status: 404, times: Infinity });
      const run = await runHarvest(deps(), "hippocampome", fastOptions(upstream.url));
      assert.equal(run.status, "complete");
      assert.ok(run.errors.some((e) => /details unavailable/.test(e.message) && !e.fatal));
      const granule = await record(db, "hippocampome:type:1000");
      assert.equal(granule.name, "DG Granule", "formal name shortened, not shown raw");
    });
  });

  describe("ModelDB", () => {
    it("harvests hippocampal models with or without a region, string licences kept", async () => {
      const run = await runHarvest(deps(), "modeldb", fastOptions(upstream.url));
      assert.equal(run.status, "complete");
      assert.equal(run.counts.unreadable, 0);
      const records = await recordsOf(db, "modeldb");
      assert.deepEqual(ids(records), [
        "modeldb:114452",
        "modeldb:118014",
        "modeldb:125733",
        "modeldb:189088",
        "modeldb:206365",
        "modeldb:222715",
        "modeldb:240961",
        "modeldb:35358",
        "modeldb:66268",
        "modeldb:84606",
        "modeldb:87762",
        "modeldb:900001",
        "modeldb:900002",
        "modeldb:900003",
      ]);
      // review §3 coverage: listed by /models/region would have missed these six.
      assert.equal((await record(db, "modeldb:35358")).brainRegions[0], "hippocampus");
      const licences = Object.fromEntries(records.map((r) => [r.id, r.licence]));
      assert.equal(licences["modeldb:900001"], "BSD-3-Clause");
      assert.equal(licences["modeldb:900002"], "MIT");
      assert.equal(licences["modeldb:900003"], null, "'other' states no SPDX licence");
      assert.equal(licences["modeldb:35358"], null);

      const m = await record(db, "modeldb:35358");
      assert.equal(
        m.name,
        "CA3 pyramidal cell: rhythmogenesis in a reduced Traub model (Pinsky, Rinzel 1994)",
      );
      assert.deepEqual(m.brainRegions, ["hippocampus", "CA3"]);
      assert.deepEqual(m.attributes.channels, ["I Na,t", "I L high threshold", "I K,Ca"]);
      assert.deepEqual(m.attributes.simulators, ["NEURON", "XPP"]);
      assert.deepEqual(m.attributes.implementers, ["Lytton, William"]);
      assert.deepEqual(m.files, [
        { url: `${upstream.url}/download/35358`, format: "zip", name: "35358.zip", role: "model archive" },
      ]);
      assert.equal(m.sourceModified, "2017-09-14T10:36:13.947");
      assert.equal(m.sourceVersion, "20");
      assert.ok(!JSON.stringify(records).includes("@example.org"), "no submitter e-mail reaches the catalog");

      const newer = await record(db, "modeldb:900001");
      assert.deepEqual(newer.attributes.implementers, ["Reconstructed, Implementer"]);
      assert.equal(
        newer.citations[0]!.text,
        "Reconstructed A, Record B (2024) citation text as typed by the submitter",
      );

      const pmid = await record(db, "modeldb:87762");
      assert.ok(pmid.citations.some((c) => c.pmid && /^\d+$/.test(c.pmid)));
    });

    it("review §3: four unfiltered lists, no case-sensitive ?region= filter", async () => {
      await runHarvest(deps(), "modeldb", fastOptions(upstream.url));
      const lists = upstream.requests.filter((p) => /^\/api\/v1\/models(\/[a-z_]+)?(\?|$)/.test(p));
      assert.deepEqual(lists, [
        "/api/v1/models",
        "/api/v1/models/ver_date",
        "/api/v1/models/region",
        "/api/v1/models/neurons",
        "/api/v1/models",
      ]);
    });

    it("maps species, regions, cell types, currents and simulators to search facets", async () => {
      await runHarvest(deps(), "modeldb", fastOptions(upstream.url));
      const doc = toSearchDocument(await record(db, "modeldb:35358"));
      assert.deepEqual(doc.facets.brainRegions, ["hippocampus", "CA3"]);
      assert.deepEqual(doc.facets.cellTypes, ["Hippocampus CA3 pyramidal GLU cell"]);
      assert.deepEqual(doc.facets["attributes.simulators"], ["NEURON", "XPP"]);
      assert.deepEqual(doc.facets["attributes.channels"], ["I Na,t", "I L high threshold", "I K,Ca"]);
    });
  });

  describe("DANDI", () => {
    it("lists at most maxFiles assets per dandiset and says how many it left out", async () => {
      const run = await runHarvest(deps(), "dandi", fastOptions(upstream.url, { maxFiles: 10 }));
      assert.equal(run.status, "complete");
      const d = await record(db, "dandi:000003");
      assert.equal(d.files.length, 10);
      assert.deepEqual(d.attributes.filesListed, ["10 of 101"]);
    });

    it("harvests the listed dandisets; one without recorded metadata is unreadable, the run complete", async () => {
      const run = await runHarvest(deps(), "dandi", fastOptions(upstream.url, { pageSize: 2 }));
      assert.equal(run.status, "complete");
      assert.deepEqual(
        { fetched: run.counts.fetched, created: run.counts.created, unreadable: run.counts.unreadable },
        { fetched: 2, created: 2, unreadable: 1 },
      );
      assert.deepEqual(
        run.unreadable.map((u) => u.id),
        ["dandi:000061"],
      );
      assert.match(run.unreadable[0]!.reason, /0\.210812\.1517 of 000061 answers 404/);

      const d = await record(db, "dandi:000003");
      assert.equal(d.sourceVersion, "0.210812.1448");
      assert.equal(d.sourceModified, "2021-08-12T14:48:43.199600Z", "the version's modified, not the item's");
      assert.equal(d.licence, "CC-BY-4.0");
      assert.deepEqual(d.species, ["House mouse"]);
      assert.equal(d.citations[0]!.doi, "10.48324/dandi.000003/0.210812.1448");
      // Its NWB files, from the version's asset list: path, size and the API content URL.
      assert.equal(d.files.length, 101);
      assert.deepEqual(d.files[0], {
        url: `${upstream.url}/api/assets/5e9e92e1-f044-4aa0-ab47-1cfcb8899348/download/`,
        format: "nwb",
        name: "sub-YutaMouse20/sub-YutaMouse20_ses-YutaMouse20-140327_behavior+ecephys.nwb",
        size: 8417855886,
        role: "asset",
      });
      assert.equal(d.attributes.filesListed, undefined, "all assets listed");
      const draft = await record(db, "dandi:000552");
      assert.equal(draft.files.length, 36);
      assert.equal(draft.sourceVersion, "draft");
      assert.deepEqual(draft.species, ["Mus musculus - House mouse"]);
      assert.match(draft.citations[0]!.text, /\(Version draft\)/);
    });

    it("review §4: a DANDI_SEARCH word with a colon is sent quoted, as text, not as an operator", async () => {
      // The real parser reads a bare `key:value` as an operator and answers 400 for an unknown key.
      const raw = await fetch(
        `${upstream.url}/api/dandisets/?search=${encodeURIComponent("spdx:CC-BY-4.0")}`,
      );
      assert.equal(raw.status, 400);
      assert.match(((await raw.json()) as { search: string[] }).search[0]!, /Unknown search operator "spdx"/);

      const from = upstream.requests.length;
      const run = await runHarvest(
        deps(),
        "dandi",
        fastOptions(upstream.url, { filters: { search: 'spdx:CC-BY-4.0  "hippocampus' } }),
      );
      assert.equal(run.status, "complete");
      const list = upstream.requests.slice(from).find((p) => p.startsWith("/api/dandisets/?"))!;
      assert.equal(new URL(list, upstream.url).searchParams.get("search"), '"spdx:CC-BY-4.0" hippocampus');
      // Both words matched as text: the two dandisets whose metadata carry that licence.
      assert.deepEqual(ids(await recordsOf(db, "dandi")), ["dandi:000003", "dandi:000552"]);
      assert.equal(run.counts.unreadable, 0);
    });

    it("review §4: a publish leaves the item's modified alone, yet the dandiset is harvested again", async () => {
      await runHarvest(deps(), "dandi", fastOptions(upstream.url));
      upstream.dandiMoment = "after";
      const run = await runHarvest(deps(), "dandi", fastOptions(upstream.url));
      assert.equal(run.status, "complete");
      assert.equal(run.counts.updated, 2);
      const d = await record(db, "dandi:000003");
      assert.equal(d.sourceVersion, "0.230629.1955");
      assert.equal(d.citations[0]!.doi, "10.48324/dandi.000003/0.230629.1955");
      const first = await record(db, "dandi:000552");
      assert.equal(first.sourceVersion, "0.230630.2304");
      assert.equal(first.files.length, 117, "the published version's assets, not the old draft's 36");
      assert.equal(first.licence, "CC-BY-4.0");
    });

    it("review §4: an incremental run lists by the versions' modified and finds the publishes", async () => {
      await runHarvest(deps(), "dandi", fastOptions(upstream.url, { pageSize: 1 }));
      upstream.dandiMoment = "after";
      const from = upstream.requests.length;
      const run = await runHarvest(
        deps(),
        "dandi",
        fastOptions(upstream.url, { pageSize: 1, mode: "incremental" }),
      );
      assert.equal(run.status, "complete");
      assert.equal(run.counts.withdrawn, 0, "an incremental run never sweeps");
      assert.equal(run.counts.updated, 2);
      const lists = upstream.requests.slice(from).filter((p) => p.startsWith("/api/dandisets/?"));
      assert.ok(lists.every((p) => p.includes("ordering=-modified")));
      assert.equal(lists.length, 3, "000061 (older than the watermark) ends the listing");
    });
  });
});
