/**
 * The storage triggers as Cloud Functions calls them: an object event for the files bucket, handled
 * with the instance's root (its dataset cache and Storage client), lands in the catalog of every
 * dataset whose files hold the object, and nowhere else.
 */
import assert from "node:assert/strict";
import type { StorageObjectData } from "firebase-functions/storage";
import { docId, objectsOf } from "../../src/services/file-catalog.js";
import { handleDeleted, handleFinalized } from "../../src/triggers/files.js";
import { PRIVATE_DS, seedPersonas } from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";
import { BUCKET, seedDatasetFiles, startFilesFixture, type FilesFixture } from "./fixture.js";

describe("storage triggers", () => {
  let fx: FilesFixture;

  before(async () => {
    fx = await startFilesFixture();
  });
  after(() => fx.close());
  beforeEach(async () => {
    await clearFirestore();
    await seedPersonas();
    await seedDatasetFiles();
    fx.api.deps.datasets.invalidate();
  });

  /** Uploads an object and returns the event data Cloud Storage would send for it. */
  async function upload(name: string, text: string): Promise<StorageObjectData> {
    const file = fx.storage.bucket(BUCKET).file(name);
    await file.save(text, { contentType: "text/plain", resumable: false });
    const [metadata] = await file.getMetadata();
    return metadata as unknown as StorageObjectData;
  }

  const entry = (path: string) => objectsOf(fx.api.deps.db, PRIVATE_DS).doc(docId(path)).get();

  it("records a finalized object in its dataset once, and marks it deleted on delete", async () => {
    const data = await upload(`${PRIVATE_DS}/notes/new.txt`, "hello");
    await handleFinalized(fx.api.deps, data);
    const first = await entry("notes/new.txt");
    assert.equal(first.get("size"), 5);
    assert.equal(first.get("deleted"), false);

    await handleFinalized(fx.api.deps, data); // a redelivered event changes nothing
    assert.deepEqual((await entry("notes/new.txt")).updateTime, first.updateTime);

    await handleDeleted(fx.api.deps, data);
    assert.equal((await entry("notes/new.txt")).get("deleted"), true);
  });

  it("ignores objects outside every dataset's files", async () => {
    const data = await upload("unclaimed/orphan.txt", "nobody's");
    await handleFinalized(fx.api.deps, data);
    const all = await fx.api.deps.db.collectionGroup(objectsOf(fx.api.deps.db, PRIVATE_DS).id).get();
    assert.equal(all.size, 0);
  });
});
