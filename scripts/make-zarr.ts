/**
 * Generates the seed zarr v3 array with zarrita: `emulator-data/files/zarr/example.zarr`, a
 * uint16 64×64 image in four 32×32 chunks (bytes codec, little endian, uncompressed), whose value at
 * (y, x) is `zarrValue(y, x)`. The loopbacks seed it under the private dataset's prefix at
 * `zarr/example.zarr`; tests and the browser check reads against `zarrValue`.
 *
 *   npx tsx scripts/make-zarr.ts [outDir]
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import * as zarr from "zarrita";
import { ZARR_CHUNK, ZARR_SHAPE, zarrValue } from "../functions/loopback/zarr-seed.js";

const out = resolve(process.argv[2] ?? join(import.meta.dirname, "..", "emulator-data", "files", "zarr"));

const store = new Map<string, Uint8Array>();
const array = await zarr.create(zarr.root(store).resolve("/example.zarr"), {
  shape: [...ZARR_SHAPE],
  chunkShape: [...ZARR_CHUNK],
  dtype: "uint16",
  // zarrita encodes no compressor (it only decodes gzip), and raw chunks keep the seed inspectable.
  codecs: [{ name: "bytes", configuration: { endian: "little" } }],
  fillValue: 0,
  dimensionNames: ["y", "x"],
  attributes: { description: "neurofire seed array: value(y, x) = (y * 64 + x) * 7 % 65536" },
});
const [h, w] = ZARR_SHAPE;
const data = new Uint16Array(h * w);
for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = zarrValue(y, x);
await zarr.set(array, null, { data, shape: [h, w], stride: [w, 1] });

await rm(join(out, "example.zarr"), { recursive: true, force: true });
for (const [key, bytes] of [...store].sort(([a], [b]) => a.localeCompare(b))) {
  const file = join(out, key);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, bytes);
  console.log(`${key} ${bytes.length} bytes`);
}
