/**
 * The file catalog (`/v2/files?q=`) tokenizes with the catalog search's tokenizer: case and
 * diacritics fold on both sides, so what a user types matches what a path or metadata.json says.
 */
import assert from "node:assert/strict";
import { crawlDataset, type CatalogDeps } from "../../src/services/file-catalog.js";
import { locationOf } from "../../src/services/files.js";
import { call, personaTokens, PRIVATE_DS, seedPersonas, type Persona } from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";
import {
  BUCKET,
  seedDatasetFiles,
  seedObjects,
  startFilesFixture,
  type FilesFixture,
} from "../files/fixture.js";

describe("file catalog search words", () => {
  let fx: FilesFixture;
  let deps: CatalogDeps;
  let tokens: Record<Persona, string | undefined>;

  before(async function () {
    // Starts a Storage server and an app, seeds and crawls: slow on a busy machine.
    this.timeout(120_000);
    fx = await startFilesFixture();
    deps = { db: fx.api.deps.db, storage: fx.storage, now: () => new Date(), log: fx.api.deps.log };
    tokens = await personaTokens();
    await clearFirestore();
    await seedPersonas();
    await seedDatasetFiles();
    await seedObjects(fx);
    const bucket = fx.storage.bucket(BUCKET);
    await bucket
      .file(`${PRIVATE_DS}/session-002/Ångström-scan.txt`)
      .save("scan", { resumable: false, contentType: "text/plain" });
    await bucket
      .file(`${PRIVATE_DS}/session-002/metadata.json`)
      .save(JSON.stringify({ lab: "Laboratoire Côté", technique: "electron MICROSCOPY" }), {
        resumable: false,
        contentType: "application/json",
      });
    await crawlDataset(deps, locationOf(PRIVATE_DS, { bucket: BUCKET }, ""));
  });
  after(() => fx.close());

  const search = async (q: string) => {
    const res = await call<{ path: string }[]>(
      fx.api.url,
      "GET",
      `/v2/files/${PRIVATE_DS}?q=${encodeURIComponent(q)}`,
      { token: tokens.reader },
    );
    assert.equal(res.status, 200);
    return res.body.map((e) => e.path);
  };

  it("finds a path written with diacritics by the plain word, and the other way round", async () => {
    assert.deepEqual(await search("angstrom"), ["session-002/Ångström-scan.txt"]);
    assert.deepEqual(await search("Ångström"), ["session-002/Ångström-scan.txt"]);
    assert.deepEqual(await search("ANGSTROM scan"), ["session-002/Ångström-scan.txt"]);
  });

  it("folds metadata.json values the same way", async () => {
    assert.deepEqual(await search("laboratoire cote microscopy"), ["session-002/metadata.json"]);
    assert.deepEqual(await search("Côté"), ["session-002/metadata.json"]);
  });

  it("matches each part of a joined name typed in a query", async () => {
    assert.deepEqual(await search("ångström-scan.txt"), ["session-002/Ångström-scan.txt"]);
    assert.deepEqual(await search("angstrom-microscopy"), []);
  });
});
