import assert from "node:assert/strict";

import type { Firestore } from "firebase-admin/firestore";

import { startUpstreamServer, type UpstreamServer } from "../../loopback/upstream.js";
import { toSearchDocument } from "../../src/schemas/catalog.js";
import { runHarvest } from "../../src/services/harvest.js";
import { firestore } from "../../src/store/firebase.js";
import { clearFirestore } from "../setup/hooks.js";
import { fastOptions, quietLog, recordDoc, recordsOf } from "./helpers.js";

describe("harvest: a full run per source", () => {
  let db: Firestore;
  let upstream: UpstreamServer;

  beforeEach(async () => {
    db = firestore();
    await clearFirestore();
    upstream = await startUpstreamServer();
  });
  afterEach(async () => upstream.close());

  it("NeuroMorpho: every hippocampal neuron, with derived SWC URLs and no .jsp request", async () => {
    const run = await runHarvest(
      { db, log: quietLog },
      "neuromorpho",
      fastOptions(upstream.url, { pageSize: 25 }),
    );
    assert.equal(run.status, "complete");
    assert.equal(run.counts.created, 120);
    const records = await recordsOf(db, "neuromorpho");
    assert.equal(records.length, 120);
    assert.ok(records.every((r) => r.brainRegions[0] === "hippocampus"));

    const r = (await recordDoc(db, "neuromorpho:2")).data()!;
    assert.equal(r.kind, "morphology");
    assert.equal(r.name, "soltesz_hc_002");
    assert.deepEqual(r.species, ["rat"]);
    assert.deepEqual(r.brainRegions, ["hippocampus", "dentate gyrus", "granule layer"]);
    assert.deepEqual(r.layers, ["granule layer"]);
    assert.deepEqual(r.cellTypes, ["granule", "principal cell"]);
    assert.equal(r.licence, "CC-BY-4.0");
    assert.deepEqual(
      (r.files as { url: string; format: string }[]).map((f) => [f.format, f.url]),
      [
        ["swc", `${upstream.url}/dableFiles/soltesz/CNG%20version/soltesz_hc_002.CNG.swc`],
        ["morph.xml", `${upstream.url}/dableFiles/soltesz/Source-Version/soltesz_hc_002.morph.xml`],
      ],
    );
    assert.ok((r.citations as { pmid?: string }[]).some((c) => c.pmid === String(20000000 + 2 * 131)));
    assert.equal(r.sourceModified, "2012-03-15");
    assert.equal(r.lastSeenRun, run.id);
    assert.equal(r.withdrawn, false);
    assert.match(r.contentHash as string, /^[0-9a-f]{64}$/);
    assert.ok(!upstream.requests.some((p) => p.includes(".jsp") || p.startsWith("/dableFiles")));
  });

  for (const encoding of ["plain", "double"] as const) {
    it(`Hippocampome (${encoding} JSON search): neuron types joined with type.csv, and their connections`, async () => {
      upstream.hippocampomeEncoding = encoding;
      const run = await runHarvest({ db, log: quietLog }, "hippocampome", fastOptions(upstream.url));
      assert.equal(run.status, "complete");
      const records = await recordsOf(db, "hippocampome");
      const types = records.filter((r) => r.kind === "neuron type");
      const connections = records.filter((r) => r.kind === "connection");
      assert.equal(types.length, 12, "the inactive type is left out");
      assert.equal(connections.length, 18, "a pair listed per layer is one record; retired types drop out");

      const granule = (await recordDoc(db, "hippocampome:type:1000")).data()!;
      assert.equal(granule.name, "DG Granule");
      assert.deepEqual(granule.brainRegions, ["hippocampal formation", "dentate gyrus"]);
      assert.deepEqual(granule.layers, ["DG:SMo", "DG:SMi", "DG:SG", "DG:H"]);
      assert.deepEqual((granule.attributes as Record<string, string[]>).neurotransmitter, ["glutamatergic"]);
      assert.deepEqual(granule.cellTypes, ["DG Granule", "Glutamatergic GC", "Granule"]);

      const basketToGranule = (await recordDoc(db, "hippocampome:conn:1003-1000")).data()!;
      assert.equal(basketToGranule.name, "DG Basket → DG Granule");
      assert.deepEqual(basketToGranule.layers, ["DG:SG", "DG:SMi"]);
      assert.deepEqual(basketToGranule.attributes, { presynapticId: ["1003"], postsynapticId: ["1000"] });
    });
  }

  it("ModelDB: hippocampal-formation models by region, without e-mail addresses", async () => {
    const run = await runHarvest({ db, log: quietLog }, "modeldb", fastOptions(upstream.url));
    assert.equal(run.status, "complete");
    const records = await recordsOf(db, "modeldb");
    assert.equal(records.length, 60, "neocortical models are not selected");

    const m = (await recordDoc(db, "modeldb:35358")).data()!;
    assert.equal(m.kind, "model");
    assert.equal(m.name, "CA3 pyramidal cell: rhythmogenesis in a reduced Traub model (Pinsky, Rinzel 1994)");
    assert.deepEqual(m.brainRegions, ["Hippocampus", "hippocampus", "CA3"]);
    assert.deepEqual(m.cellTypes, ["Hippocampus CA3 pyramidal GLU cell"]);
    assert.deepEqual((m.attributes as Record<string, string[]>).implementers, ["Lytton, William"]);
    assert.deepEqual((m.attributes as Record<string, string[]>).channels, [
      "I Na,t",
      "I L high threshold",
      "I K,Ca",
    ]);
    assert.deepEqual(m.files, [
      { url: `${upstream.url}/download/35358`, format: "zip", name: "35358.zip", role: "model archive" },
    ]);
    assert.equal(m.sourceModified, "2017-09-14T10:36:13.947");
    assert.equal(m.sourceVersion, "20");
    assert.ok(!JSON.stringify(records).includes("@example.org"), "no submitter e-mail reaches the catalog");
  });

  it("DANDI: dandisets matching the search, with licence, citation and species", async () => {
    const run = await runHarvest({ db, log: quietLog }, "dandi", fastOptions(upstream.url, { pageSize: 7 }));
    assert.equal(run.status, "complete");
    const records = await recordsOf(db, "dandi");
    assert.equal(records.length, 30, "the test dandiset does not mention the hippocampus");
    const d = (await recordDoc(db, "dandi:000207")).data()!;
    assert.equal(d.kind, "dataset");
    assert.equal(d.licence, "CC-BY-4.0");
    assert.deepEqual(d.species, ["House mouse"]);
    assert.deepEqual(d.brainRegions, ["Hippocampal formation"]);
    assert.match((d.citations as { text: string }[])[0]!.text, /DANDI archive/);
    assert.ok(records.some((r) => r.kind === "electrophysiology"));
  });

  it("maps a record to the search index document", async () => {
    await runHarvest({ db, log: quietLog }, "modeldb", fastOptions(upstream.url));
    const m = (await recordDoc(db, "modeldb:35358")).data()!;
    const doc = toSearchDocument(m as Parameters<typeof toSearchDocument>[0]);
    assert.equal(doc.id, "modeldb:35358");
    assert.equal(doc.text.name, m.name);
    assert.deepEqual(doc.facets.source, ["modeldb"]);
    assert.deepEqual(doc.facets["attributes.simulators"], ["NEURON", "XPP"]);
    assert.deepEqual(doc.facets.status, ["current"]);
  });
});
