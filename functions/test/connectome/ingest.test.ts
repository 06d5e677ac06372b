import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { readConnectomeFolder, writeConnectome } from "../../src/services/connectome/ingest.js";
import { firestore } from "../../src/store/firebase.js";
import { clearFirestore } from "../setup/hooks.js";
import { dump } from "../clio/util.js";
import { CONNECTOME_DIR } from "./fixture.js";

/** The README's table: file records kept by WormWideWeb's import rules, cells per dataset. */
const EXPECTED: Record<string, { imported: number; cells: number; synapsesAtLeast: number }> = {
  white_1986_whole: { imported: 3549, cells: 319, synapsesAtLeast: 10000 },
  witvliet_2020_1: { imported: 775, cells: 187, synapsesAtLeast: 1 },
  witvliet_2020_2: { imported: 986, cells: 193, synapsesAtLeast: 1 },
  witvliet_2020_3: { imported: 1012, cells: 198, synapsesAtLeast: 1 },
  witvliet_2020_4: { imported: 1136, cells: 203, synapsesAtLeast: 1 },
  witvliet_2020_5: { imported: 1515, cells: 210, synapsesAtLeast: 1 },
  witvliet_2020_6: { imported: 1525, cells: 216, synapsesAtLeast: 1 },
  witvliet_2020_7: { imported: 2202, cells: 221, synapsesAtLeast: 1 },
  witvliet_2020_8: { imported: 2186, cells: 219, synapsesAtLeast: 1 },
};

describe("connectome ingest", () => {
  let scratch: string;
  beforeEach(async () => {
    await clearFirestore();
    scratch = mkdtempSync(path.join(tmpdir(), "connectome-"));
    cpSync(CONNECTOME_DIR, scratch, { recursive: true });
  });
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  it("keeps what WormWideWeb's import keeps, per dataset", async () => {
    const plan = await readConnectomeFolder(scratch);
    assert.deepEqual(
      plan.datasets.map((d) => d.doc.id),
      Object.keys(EXPECTED),
    );
    for (const { doc, graph } of plan.datasets) {
      const want = EXPECTED[doc.id]!;
      assert.equal(graph.rows.length, want.imported, doc.id);
      assert.equal(doc.neurons.length, want.cells, doc.id);
      assert.ok(doc.synapses >= want.synapsesAtLeast);
      assert.equal(doc.public, true);
    }
    assert.equal(plan.cells.cells.length, 658);
    // Witvliet: electrical records dropped entirely; every cell of the shipped files is known.
    const w8 = plan.datasets.find((d) => d.doc.id === "witvliet_2020_8")!;
    assert.ok(w8.graph.rows.every((r) => r[2] === 0));
    assert.deepEqual(plan.dropped, {});
  });

  it("renames, merges and drops unknown cells as WormWideWeb does", async () => {
    const body = JSON.stringify([
      { pre: "VA8", post: "AVAL", typ: 0, syn: [1, 1] },
      { pre: "VA08", post: "AVAL", typ: 0, syn: [3] },
      { pre: "Fragment", post: "AVAL", typ: 0, syn: [1] },
      { pre: "AVAL", post: "AVAR", typ: 2, syn: [4] },
    ]);
    writeFileSync(path.join(scratch, "connectome", "connectome", "white_1986_whole.json"), body);
    const sum = createHash("sha256").update(body).digest("hex");
    const manifest = path.join(scratch, "config", "data_checksum.json");
    const parsed = JSON.parse(readFileSync(manifest, "utf8")) as { connectome: Record<string, string> };
    parsed.connectome["white_1986_whole.json"] = sum;
    writeFileSync(manifest, JSON.stringify(parsed));
    const csv = path.join(scratch, "connectome", "connectome_checksum.csv");
    writeFileSync(
      csv,
      readFileSync(csv, "utf8").replace(
        /^white_1986_whole\.json,[0-9a-f]+$/m,
        `white_1986_whole.json,${sum}`,
      ),
    );
    const plan = await readConnectomeFolder(scratch);
    const white = plan.datasets.find((d) => d.doc.id === "white_1986_whole")!;
    const named = white.graph.rows.map(([a, b, t, n]) => [white.graph.names[a], white.graph.names[b], t, n]);
    assert.deepEqual(named, [
      ["VA08", "AVAL", 0, 5],
      ["AVAL", "AVAR", 1, 4],
    ]);
    assert.deepEqual(plan.dropped, { white_1986_whole: ["Fragment"] });
    assert.equal(white.doc.sha256, sum);
  });

  it("is idempotent: a second run leaves exactly the same documents", async () => {
    const db = { db: firestore() };
    await writeConnectome(db, await readConnectomeFolder(scratch));
    const first = await dump("connectome_datasets", "connectome_graphs", "connectome_meta");
    assert.equal(Object.keys(first).length, 9 + 9 + 1);
    await writeConnectome(db, await readConnectomeFolder(scratch));
    assert.deepEqual(await dump("connectome_datasets", "connectome_graphs", "connectome_meta"), first);
  });

  it("refuses a file whose SHA-256 does not match the manifest, and writes nothing", async () => {
    const file = path.join(scratch, "connectome", "connectome", "witvliet_2020_3.json");
    writeFileSync(file, '[{"pre":"AVAL","post":"AVAR","typ":0,"syn":[1]}]');
    await assert.rejects(
      readConnectomeFolder(scratch),
      /witvliet_2020_3\.json: SHA-256 [0-9a-f]+ does not match/,
    );
    assert.deepEqual(await dump("connectome_datasets", "connectome_graphs", "connectome_meta"), {});
  });

  it("refuses a dataset missing from the manifest", async () => {
    const manifest = path.join(scratch, "config", "data_checksum.json");
    writeFileSync(manifest, JSON.stringify({ connectome: {} }));
    await assert.rejects(
      readConnectomeFolder(scratch),
      /white_1986_whole\.json is not in config\/data_checksum\.json/,
    );
  });
});
