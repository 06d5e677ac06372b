import assert from "node:assert/strict";
import { readHdf5Header } from "../../src/storage/hdf5.js";
import { rangeReader, statObject } from "../../src/storage/objects.js";
import {
  catalogPages,
  crawlDataset,
  docId,
  objectsOf,
  recordDeleted,
  recordFinalized,
  type CatalogDeps,
} from "../../src/services/file-catalog.js";
import { locationOf } from "../../src/services/files.js";
import { checkMatrix } from "../helpers/matrix.js";
import { call, personaTokens, PRIVATE_DS, seedPersonas, type Persona } from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";
import {
  BUCKET,
  NWB,
  seedDatasetFiles,
  seedObjects,
  startFilesFixture,
  type FilesFixture,
} from "./fixture.js";

describe("file catalog", () => {
  let fx: FilesFixture;
  let deps: CatalogDeps;
  let tokens: Record<Persona, string | undefined>;
  const location = locationOf(PRIVATE_DS, { bucket: BUCKET }, "");
  const file = (p: string) => fx.storage.bucket(BUCKET).file(`${PRIVATE_DS}/${p}`);

  before(async () => {
    fx = await startFilesFixture();
    deps = { db: fx.api.deps.db, storage: fx.storage, now: () => new Date(), log: fx.api.deps.log };
    tokens = await personaTokens();
  });
  after(() => fx.close());
  beforeEach(async () => {
    await clearFirestore();
    await seedPersonas();
    await seedDatasetFiles();
    await seedObjects(fx);
    fx.api.deps.datasets.invalidate();
    fx.api.deps.users.invalidate();
  });

  const records = async () => {
    const snap = await objectsOf(deps.db, PRIVATE_DS).get();
    return new Map(
      snap.docs.map((d) => [d.get("path") as string, { data: d.data(), updateTime: d.updateTime }]),
    );
  };

  it("reads NWB header fields with range reads, not the whole file", async () => {
    const info = (await statObject(fx.storage, BUCKET, `${PRIVATE_DS}/${NWB}`))!;
    fx.gcs.resetStats();
    const result = await readHdf5Header(rangeReader(fx.storage, info), info.size);
    assert.deepEqual(result.header, {
      nwb_version: "2.7.0",
      identifier: "neurofire-demo-session-001",
      session_description: "Synthetic 256-channel extracellular recording for neurofire's local demo",
      session_start_time: "2024-03-11T19:11:17.335000+00:00",
      subject: { age: "P90D", sex: "F", species: "Mus musculus", subject_id: "mouse-042" },
    });
    assert.ok(result.bytesRead <= 256 * 1024, `read ${result.bytesRead} of ${info.size} bytes`);
    assert.ok(fx.gcs.stats().bytesServed <= 256 * 1024);
    const small = await readHdf5Header(rangeReader(fx.storage, info), info.size, { blockSize: 4096 });
    assert.equal(small.header.identifier, "neurofire-demo-session-001");
    assert.ok(small.requests > 1, "small blocks need several rounds of range reads");
    await assert.rejects(
      readHdf5Header(() => Promise.resolve(Buffer.from("not hdf5 at all")), 15),
      /HDF5/,
    );
  });

  it("crawl adds, updates and marks deletions, and repeating it changes nothing", async () => {
    const first = await crawlDataset(deps, location);
    assert.deepEqual(
      { ...first, dataset: undefined },
      { dataset: undefined, listed: 3, added: 3, updated: 0, unchanged: 0, deleted: 0, conflicts: 0 },
    );
    let recs = await records();
    const nwb = recs.get(NWB)!.data as {
      experiment: string;
      size: number;
      hdf5: { identifier: string; subject: Record<string, string> };
      contentType: string;
      md5: string;
      generation: string;
      updated: string;
    };
    assert.equal(nwb.experiment, "session-001");
    assert.equal(nwb.size, fx.nwbBytes.length);
    assert.equal(nwb.hdf5.identifier, "neurofire-demo-session-001");
    assert.equal(nwb.hdf5.subject.species, "Mus musculus");
    assert.equal(nwb.contentType, "application/x-hdf5");
    assert.ok(nwb.md5 && nwb.generation && nwb.updated);
    assert.equal(
      (JSON.parse(String(recs.get("session-001/metadata.json")!.data.metadataText)) as { lab: string }).lab,
      "Neurofire Demo Lab",
    );

    fx.gcs.resetStats();
    const again = await crawlDataset(deps, location);
    assert.deepEqual([again.unchanged, again.added, again.updated, again.deleted], [3, 0, 0, 0]);
    assert.equal(fx.gcs.stats().bytesServed, 0, "unchanged objects are not read");
    const same = await records();
    for (const [p, r] of recs) assert.ok(same.get(p)!.updateTime.isEqual(r.updateTime), `${p} rewritten`);

    await file("session-001/readme.txt").save("new readme", { resumable: false });
    await file("session-001/metadata.json").delete();
    await file("session-002/metadata.json").save(JSON.stringify({ uuid: "session-002", lab: "Other" }), {
      resumable: false,
    });
    const third = await crawlDataset(deps, location);
    assert.deepEqual(
      [third.listed, third.added, third.updated, third.deleted, third.unchanged],
      [3, 1, 1, 1, 1],
    );
    recs = await records();
    assert.equal(recs.get("session-001/metadata.json")!.data.deleted, true);
    assert.equal(recs.get("session-001/readme.txt")!.data.size, 10);
    assert.equal(recs.get("session-002/metadata.json")!.data.experiment, "session-002");

    const fourth = await crawlDataset(deps, location);
    assert.deepEqual([fourth.added, fourth.updated, fourth.deleted, fourth.unchanged], [0, 0, 0, 3]);

    // A re-created object comes back from deletion.
    await file("session-001/metadata.json").save("{}", { resumable: false });
    const fifth = await crawlDataset(deps, location);
    assert.equal(fifth.updated, 1);
    assert.equal((await records()).get("session-001/metadata.json")!.data.deleted, false);
  });

  it("triggers never put back an older generation, and an overwrite's delete event keeps the new one", async () => {
    const name = `${PRIVATE_DS}/session-001/readme.txt`;
    const v1 = (await statObject(fx.storage, BUCKET, name))!;
    await file("session-001/readme.txt").save("second", { resumable: false });
    const v2 = (await statObject(fx.storage, BUCKET, name))!;
    assert.equal(await recordFinalized(deps, location, v2), true);
    assert.equal(await recordFinalized(deps, location, v1), false, "late event of the old generation");
    assert.equal(await recordFinalized(deps, location, v2), false, "duplicate event");
    assert.equal(await recordDeleted(deps, location, { name, generation: v1.generation }), false);
    let rec = (await objectsOf(deps.db, PRIVATE_DS).doc(docId("session-001/readme.txt")).get()).data()!;
    assert.deepEqual([rec.generation, rec.deleted], [v2.generation, false]);
    assert.equal(await recordDeleted(deps, location, { name, generation: v2.generation }), true);
    rec = (await objectsOf(deps.db, PRIVATE_DS).doc(docId("session-001/readme.txt")).get()).data()!;
    assert.equal(rec.deleted, true);
    assert.equal(await recordFinalized(deps, { ...location, prefix: "elsewhere/" }, v2), false);
  });

  it("pages and searches by prefix and words", async () => {
    await crawlDataset(deps, location);
    const all = await call<{ path: string; metadata?: { lab: string } }[]>(
      fx.api.url,
      "GET",
      `/v2/files/${PRIVATE_DS}`,
      {
        token: tokens.reader,
      },
    );
    assert.equal(all.status, 200);
    assert.deepEqual(all.body.map((e) => e.path).sort(), [
      "session-001/metadata.json",
      "session-001/readme.txt",
      NWB,
    ]);
    assert.equal(all.body.find((e) => e.path.endsWith("metadata.json"))!.metadata!.lab, "Neurofire Demo Lab");
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
      const page = await call<{ path: string }[]>(
        fx.api.url,
        "GET",
        `/v2/files/${PRIVATE_DS}?prefix=session-001/&limit=2${q}`,
        {
          token: tokens.reader,
        },
      );
      assert.equal(page.status, 200);
      seen.push(...page.body.map((e) => e.path));
      cursor = page.headers.get("x-next-cursor");
    } while (cursor);
    assert.equal(seen.length, 3);
    const search = async (q: string) =>
      (
        await call<{ path: string }[]>(
          fx.api.url,
          "GET",
          `/v2/files/${PRIVATE_DS}?q=${encodeURIComponent(q)}`,
          {
            token: tokens.reader,
          },
        )
      ).body.map((e) => e.path);
    assert.deepEqual(
      await search("Mus musculus"),
      [NWB, "session-001/metadata.json"].sort((a, b) => (docId(a) < docId(b) ? -1 : 1)),
    );
    assert.deepEqual(await search("demo lab readme"), ["session-001/metadata.json"]);
    assert.deepEqual(await search("readme zzqx"), []);
    assert.deepEqual(
      await search("neurofire-demo-session-001 recording"),
      ["session-001/metadata.json", NWB].sort((a, b) => (docId(a) < docId(b) ? -1 : 1)),
    );
    assert.deepEqual(await search("no-such-word"), []);
    const page = await catalogPages(deps.db, PRIVATE_DS, { prefix: "session-001/rec" })(undefined, 10);
    assert.deepEqual(
      page.map((i) => (i.value as { path: string }).path),
      [NWB],
    );
    const bad = await call(fx.api.url, "GET", `/v2/files/${PRIVATE_DS}?limit=0`, { token: tokens.reader });
    assert.equal(bad.status, 400);
    // Unknown query keys are ignored, as clio-store did (clients add app=, cache busters).
    const unknown = await call(fx.api.url, "GET", `/v2/files/${PRIVATE_DS}?sort=x`, { token: tokens.reader });
    assert.equal(unknown.status, 200);
  });

  it("listing permission matrix", async () => {
    await checkMatrix(
      fx.api,
      tokens,
      { method: "GET", path: `/v2/files/${PRIVATE_DS}?limit=5` },
      {
        anonymous: 401,
        unknown: 403,
        reader: 200,
        writer: 200,
        datasetAdmin: 200,
        admin: 200,
        disabled: 403,
      },
      seedDatasetFiles,
    );
  });
});
