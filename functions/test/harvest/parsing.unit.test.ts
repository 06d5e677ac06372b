/**
 * The harvesters' readers of what the sources publish, on the recorded real files where there is
 * one; the hand-written rows below are only the fault cases no recording shows.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { dandiSearchTerm } from "../../src/sources/dandi.js";
import { csvObjects } from "../../src/sources/csv.js";
import { connectionStatus } from "../../src/sources/hippocampome.js";
import { selectValue } from "../../src/sources/neuromorpho.js";
import { parseEphys, parseMorphology } from "../../src/sources/hippocampome-properties.js";

const published = (file: string) =>
  new TextDecoder("latin1").decode(
    readFileSync(
      new URL(
        `../../loopback/recorded/hippocampome/github/csv2db_import_v2/iconv/latin1/${file}`,
        import.meta.url,
      ),
    ),
  );

describe("source readers", () => {
  it("Hippocampome v2 connections: the Connection? flag as the importer reads it", () => {
    const rows = csvObjects(published("conndata.subset.csv"));
    const counts: Record<string, number> = {};
    for (const row of rows) counts[connectionStatus(row)] = (counts[connectionStatus(row)] ?? 0) + 1;
    assert.deepEqual(counts, { positive: 79, none: 996, negative: 90 });
    // A flag the importer does not know is an ingest error there, unreadable here.
    assert.equal(connectionStatus({ "Connection?": "2" }), "invalid");
    // The pre-v2 table has no flag: every row is a connection.
    assert.equal(connectionStatus({ Source_ID: "1000", Target_ID: "1002" }), "positive");
  });

  it("Hippocampome pre-v2 connections (the site's file, BOM and CRLF) read as Latin-1 still have ids", () => {
    const raw = readFileSync(
      new URL("../../loopback/recorded/hippocampome/php/data/conndata.third.csv", import.meta.url),
    );
    const rows = csvObjects(new TextDecoder("latin1").decode(raw));
    assert.ok(rows.length > 100);
    assert.ok(rows.every((r) => /^\d{4}$/.test(r.Source_ID ?? "") && connectionStatus(r) === "positive"));
  });

  it("Hippocampome morphology: only imported statuses, a `-` cell is evidence of absence", () => {
    const morphology = parseMorphology(published("morphdata.subset.csv"));
    assert.equal(morphology.size, 35);
    assert.deepEqual(morphology.get("1000"), {
      axonLayers: ["DG:H", "CA3:SL", "CA3:SP", "CA2:SP"],
      dendriteLayers: ["DG:SMo", "DG:SMi"],
      somaLayers: ["DG:SG"],
    });
    // 1101 (DG Cajal-Retzius Projecting) is `S`, an on-hold status the importer skips.
    assert.equal(morphology.get("1101"), undefined);
  });

  it("Hippocampome electrophysiology: numeric values per parameter, one per article row", () => {
    const ephys = parseEphys(published("epdata.subset.csv"));
    assert.equal(ephys.size, 27);
    assert.deepEqual(ephys.get("1000")!.get("Vrest (mV)"), [-75, -75.5, -75, -74, -84]);
  });

  it("DANDI search words with a colon are quoted; stray quotes dropped", () => {
    assert.equal(dandiSearchTerm("hippocampus"), "hippocampus");
    assert.equal(dandiSearchTerm(' CA1:SP  "place cells '), '"CA1:SP" place cells');
    assert.equal(dandiSearchTerm('"'), "");
  });

  it("NeuroMorpho select values: a multi-word region is quoted", () => {
    assert.equal(selectValue("hippocampus"), "hippocampus");
    assert.equal(selectValue(" basal ganglia "), '"basal ganglia"');
    assert.equal(selectValue('a,"b c'), '"ab c"');
  });
});
