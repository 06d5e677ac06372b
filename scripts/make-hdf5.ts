/**
 * Builds the seed experiment folder `emulator-data/files/demo-private/session-001/`: a real
 * NWB-style HDF5 file written by the HDF5 library itself (h5wasm), its `metadata.json` and a
 * `readme.txt`. The recording's samples follow a formula, so a browser test can check the exact
 * values of any slice it reads through a signed URL.
 *
 * The data set is chunked (250 samples × 32 channels, 32 KB per chunk) and uncompressed, so a small
 * slice touches one or two chunks and a lazy HTTP reader fetches a small part of the file.
 *
 * Deterministic: HDF5 stamps every object header with the current time, so the script rewrites
 * those stamps to the session start time and fixes the headers' checksums; two runs produce the
 * same bytes. Idempotent: when the folder already holds a file with the same content fingerprint,
 * nothing is rewritten.
 *
 * Usage: npx tsx scripts/make-hdf5.ts [--force] [outDir]
 */
import crypto from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const SAMPLES = 8000;
export const CHANNELS = 256;
export const CHUNKS: [number, number] = [250, 32];
export const RATE_HZ = 30000;

/** The value of sample `t` on channel `c`: exact in float32 (at most 21 significant bits). */
export const sampleValue = (t: number, c: number): number => c + t / 1024;

const IDENTIFIER = "neurofire-demo-session-001";
const SESSION_DESCRIPTION = "Synthetic 256-channel extracellular recording for neurofire's local demo";
const SESSION_START = "2024-03-11T19:11:17.335000+00:00";
const SUBJECT = { subject_id: "mouse-042", species: "Mus musculus", sex: "F", age: "P90D" };

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function fingerprint(): string {
  return crypto
    .createHash("sha256")
    .update(
      JSON.stringify({
        SAMPLES,
        CHANNELS,
        CHUNKS,
        RATE_HZ,
        IDENTIFIER,
        SESSION_DESCRIPTION,
        SESSION_START,
        SUBJECT,
        v: 1,
      }),
    )
    .digest("hex")
    .slice(0, 16);
}

function samples(): Float32Array {
  const data = new Float32Array(SAMPLES * CHANNELS);
  for (let t = 0; t < SAMPLES; t++) {
    for (let c = 0; c < CHANNELS; c++) data[t * CHANNELS + c] = sampleValue(t, c);
  }
  return data;
}

async function writeNwb(file: string): Promise<void> {
  const h5wasm = await import("h5wasm/node");
  await h5wasm.ready;
  // The 1.10 format indexes a fixed-size chunked data set with a Fixed Array written before the
  // data, instead of a v1 B-tree whose nodes split into the middle of it: fewer scattered reads.
  const f = new h5wasm.File(file, "w", { libver: "v110" });
  try {
    f.create_attribute("nwb_version", "2.7.0");
    f.create_attribute("namespace", "core");
    f.create_attribute("neurodata_type", "NWBFile");
    f.create_attribute("object_id", "5f0d6b44-3c1e-4d55-9a0e-6a1e8e0c0001");
    f.create_attribute("neurofire_fingerprint", fingerprint());
    f.create_dataset({ name: "identifier", data: IDENTIFIER });
    f.create_dataset({ name: "session_description", data: SESSION_DESCRIPTION });
    f.create_dataset({ name: "session_start_time", data: SESSION_START });
    f.create_dataset({ name: "timestamps_reference_time", data: SESSION_START });
    f.create_dataset({ name: "file_create_date", data: [SESSION_START] });

    const general = f.create_group("general");
    general.create_dataset({ name: "lab", data: "Neurofire Demo Lab" });
    general.create_dataset({ name: "institution", data: "Loopback University" });
    general.create_dataset({ name: "experimenter", data: ["Ada Example"] });
    const subject = general.create_group("subject");
    subject.create_attribute("neurodata_type", "Subject");
    subject.create_attribute("namespace", "core");
    for (const [k, v] of Object.entries(SUBJECT)) subject.create_dataset({ name: k, data: v });

    const series = f.create_group("acquisition").create_group("ElectricalSeries");
    series.create_attribute("neurodata_type", "ElectricalSeries");
    series.create_attribute("namespace", "core");
    series.create_attribute("description", "data[t, c] = c + t / 1024 (t = sample index, c = channel)");
    series.create_attribute("comments", "Synthetic values; see readme.txt");
    const start = series.create_dataset({ name: "starting_time", data: 0, dtype: "<d", shape: [] });
    start.create_attribute("rate", RATE_HZ, null, "<f");
    start.create_attribute("unit", "seconds");
    // Created empty and filled after its attributes exist, so the attribute messages sit in the
    // object header near the start of the file instead of a continuation block after the data.
    const data = series.create_dataset({
      name: "data",
      data: new Float32Array(0),
      shape: [0, CHANNELS],
      maxshape: [SAMPLES, CHANNELS],
      dtype: "<f",
      chunks: CHUNKS,
    });
    data.create_attribute("unit", "volts");
    data.create_attribute("conversion", 1e-6, null, "<f");
    data.create_attribute("resolution", -1, null, "<f");
    data.resize([SAMPLES, CHANNELS]);
    data.write_slice(
      [
        [0, SAMPLES],
        [0, CHANNELS],
      ],
      samples(),
    );
  } finally {
    f.close();
  }
}

// Bob Jenkins' lookup3 hashlittle(), which HDF5 uses for metadata checksums (initval 0).
function lookup3(key: Uint8Array): number {
  const rot = (x: number, n: number) => (x << n) | (x >>> (32 - n));
  let a = (0xdeadbeef + key.length) | 0;
  let b = a;
  let c = a;
  const word = (k: number) => key[k]! | (key[k + 1]! << 8) | (key[k + 2]! << 16) | (key[k + 3]! << 24);
  let k = 0;
  let length = key.length;
  while (length > 12) {
    a = (a + word(k)) | 0;
    b = (b + word(k + 4)) | 0;
    c = (c + word(k + 8)) | 0;
    a = (a - c) | 0;
    a ^= rot(c, 4);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rot(a, 6);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rot(b, 8);
    b = (b + a) | 0;
    a = (a - c) | 0;
    a ^= rot(c, 16);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rot(a, 19);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rot(b, 4);
    b = (b + a) | 0;
    length -= 12;
    k += 12;
  }
  if (length === 0) return c >>> 0;
  const abc = [a, b, c];
  for (let i = 0; i < length; i++) abc[i >> 2] = (abc[i >> 2]! + (key[k + i]! << (8 * (i & 3)))) | 0;
  [a, b, c] = abc as [number, number, number];
  c ^= b;
  c = (c - rot(b, 14)) | 0;
  a ^= c;
  a = (a - rot(c, 11)) | 0;
  b ^= a;
  b = (b - rot(a, 25)) | 0;
  c ^= b;
  c = (c - rot(b, 16)) | 0;
  a ^= c;
  a = (a - rot(c, 4)) | 0;
  b ^= a;
  b = (b - rot(a, 14)) | 0;
  c ^= b;
  c = (c - rot(b, 24)) | 0;
  return c >>> 0;
}

/** Sets the times in every version-2 object header to `epochSeconds`, keeping checksums valid. */
function pinObjectTimes(buf: Buffer, epochSeconds: number): number {
  let pinned = 0;
  for (let at = buf.indexOf("OHDR"); at >= 0; at = buf.indexOf("OHDR", at + 4)) {
    const flags = buf[at + 5]!;
    if (buf[at + 4] !== 2 || !(flags & 0x20)) continue;
    let p = at + 6;
    const times = p;
    p += 16;
    if (flags & 0x10) p += 4;
    const width = 1 << (flags & 3);
    const size = Number(buf.readUIntLE(p, width));
    const end = p + width + size;
    if (end + 4 > buf.length || lookup3(buf.subarray(at, end)) !== buf.readUInt32LE(end)) continue;
    for (let i = 0; i < 4; i++) buf.writeUInt32LE(epochSeconds, times + 4 * i);
    buf.writeUInt32LE(lookup3(buf.subarray(at, end)), end);
    pinned++;
  }
  return pinned;
}

async function existingFingerprint(file: string): Promise<string | undefined> {
  const h5wasm = await import("h5wasm/node");
  await h5wasm.ready;
  const f = new h5wasm.File(file, "r");
  try {
    const value = f.attrs["neurofire_fingerprint"]?.value;
    return typeof value === "string" ? value : undefined;
  } finally {
    f.close();
  }
}

export async function makeSeedFiles(
  outDir: string,
  force = false,
): Promise<{ nwb: string; changed: boolean }> {
  mkdirSync(outDir, { recursive: true });
  const nwb = path.join(outDir, "recording.nwb");
  let changed = false;
  if (force || !existsSync(nwb) || (await existingFingerprint(nwb)) !== fingerprint()) {
    const tmp = `${nwb}.tmp`;
    rmSync(tmp, { force: true });
    await writeNwb(tmp);
    const bytes = readFileSync(tmp);
    if (pinObjectTimes(bytes, Math.floor(Date.parse(SESSION_START) / 1000)) === 0) {
      throw new Error("found no timestamped HDF5 object headers to pin; the file would not be reproducible");
    }
    writeFileSync(tmp, bytes);
    renameSync(tmp, nwb);
    changed = true;
  }

  const metadata = {
    uuid: "session-001",
    name: "Demo session 001",
    description: SESSION_DESCRIPTION,
    identifier: IDENTIFIER,
    session_start_time: SESSION_START,
    subject: SUBJECT,
    lab: "Neurofire Demo Lab",
    tags: ["ephys", "extracellular", "synthetic", "nwb"],
    files: {
      "recording.nwb": {
        format: "NWB 2.7.0 (HDF5)",
        datasets: {
          "acquisition/ElectricalSeries/data": {
            dtype: "float32",
            shape: [SAMPLES, CHANNELS],
            chunks: CHUNKS,
            formula: "data[t, c] = c + t / 1024",
            rate_hz: RATE_HZ,
          },
        },
      },
      "readme.txt": { format: "text" },
    },
  };
  const readme = [
    "Demo session 001 (synthetic)",
    "",
    `recording.nwb is an NWB 2.7.0 HDF5 file made by scripts/make-hdf5.ts with h5wasm.`,
    `acquisition/ElectricalSeries/data is float32 [${SAMPLES} samples, ${CHANNELS} channels] at ${RATE_HZ} Hz,`,
    `chunked ${CHUNKS[0]} x ${CHUNKS[1]}, uncompressed. Every value is exact: data[t, c] = c + t / 1024.`,
    "",
  ].join("\n");
  for (const [name, content] of [
    ["metadata.json", JSON.stringify(metadata, null, 2) + "\n"],
    ["readme.txt", readme],
  ] as const) {
    const file = path.join(outDir, name);
    if (!existsSync(file) || readFileSync(file, "utf8") !== content) {
      writeFileSync(file, content);
      changed = true;
    }
  }
  return { nwb, changed };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const force = args.includes("--force");
  const outDir =
    args.find((a) => !a.startsWith("--")) ?? path.join(root, "emulator-data/files/demo-private/session-001");
  const { nwb, changed } = await makeSeedFiles(outDir, force);
  console.log(
    `${changed ? "wrote" : "unchanged"}: ${path.relative(process.cwd(), nwb)} (${statSync(nwb).size} bytes)`,
  );
}
