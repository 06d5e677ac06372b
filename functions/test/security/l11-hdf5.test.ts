/**
 * Security review L11: a writer-uploaded HDF5 file whose `identifier` is a huge dataset must not
 * make header extraction fetch the whole file; reads are capped in bytes and fail cleanly.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { readHdf5Header } from "../../src/storage/hdf5.js";

const MiB = 1024 * 1024;

async function craftedFile(): Promise<Buffer> {
  const h5 = await import("h5wasm/node");
  await h5.ready;
  const dir = await mkdtemp(path.join(os.tmpdir(), "sec-h5-"));
  try {
    const file = path.join(dir, "evil.nwb");
    const f = new h5.File(file, "w");
    f.create_attribute("nwb_version", "2.5.0");
    f.create_dataset({ name: "session_description", data: "looks harmless" });
    // 8 MiB of "identifier": reading its value would touch every block of the file.
    const values = new Float32Array(2 * MiB);
    for (let i = 0; i < values.length; i++) values[i] = i;
    f.create_dataset({ name: "identifier", data: values });
    f.close();
    return await readFile(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("security L11: HDF5 header reads are bounded", () => {
  let bytes: Buffer;
  before(async () => {
    bytes = await craftedFile();
  });
  const read = (start: number, end: number) => Promise.resolve(bytes.subarray(start, end + 1));

  it("reads the header without the huge dataset", async () => {
    assert.ok(bytes.length > 8 * MiB);
    const result = await readHdf5Header(read, bytes.length);
    assert.equal(result.header.identifier, null);
    assert.equal(result.header.session_description, "looks harmless");
    assert.equal(result.header.nwb_version, "2.5.0");
    assert.ok(result.bytesRead <= 1 * MiB, `${result.bytesRead} bytes read`);
  });

  it("gives up cleanly when the header needs more than maxBytes", async () => {
    let fetched = 0;
    const counting = (start: number, end: number) => {
      fetched += end - start + 1;
      return read(start, end);
    };
    await assert.rejects(
      readHdf5Header(counting, bytes.length, { blockSize: 1024, maxBytes: 1024 }),
      /needs more than 1024 bytes/,
    );
    assert.ok(fetched <= 1024, `${fetched} bytes fetched`);
  });
});
