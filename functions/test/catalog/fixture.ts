/**
 * The catalog tests' world: a small labelled corpus of records shaped like the real ones
 * (reference/neuroscience-sources.md §3) written to the Firestore emulator, the loopback Cloud
 * Storage server holding the published index, a tiny file server standing in for the sources'
 * file hosts, and the catalog API served with all of them configured.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { inflateRawSync } from "node:zlib";
import { Storage } from "@google-cloud/storage";
import { startStorageServer, type StorageServer } from "../../loopback/storage.js";
import { catalogAdminApi, catalogApi } from "../../src/api/catalog.js";
import type { ConfigInput } from "../../src/config.js";
import { CATALOG_COLLECTIONS, catalogDocId, type CatalogRecord } from "../../src/schemas/catalog.js";
import type { IndexPointer } from "../../src/schemas/catalog-search.js";
import { publishCatalogIndex } from "../../src/services/catalog/search-index.js";
import { firestore } from "../../src/store/firebase.js";
import { serve, type TestServer } from "../helpers/server.js";
import { record } from "./record.js";

export { record };

export const BUCKET = "catalog-test";

/**
 * The labelled corpus. Test expectations name these ids; `files` URLs use FILES as a placeholder
 * for the file server's origin (see `corpus(origin)`).
 */
export function corpus(files = "http://files.invalid"): CatalogRecord[] {
  return [
    record({
      id: "neuromorpho:1",
      kind: "morphology",
      name: "n409",
      description: "Pyramidal neuron reconstruction from rat hippocampus, CA1 stratum pyramidale.",
      species: ["rat"],
      brainRegions: ["hippocampus", "CA1"],
      cellTypes: ["pyramidal", "principal cell"],
      layers: ["pyramidal layer"],
      licence: "CC-BY-4.0",
      citations: [{ text: "Ishizuka N et al. (1995) J Comp Neurol", pmid: "7499554" }],
      files: [
        {
          url: `${files}/files/n409.CNG.swc`,
          format: "swc",
          name: "n409.CNG.swc",
          size: 40,
          role: "standardized",
        },
        { url: `${files}/files/n409.asc`, format: "asc", name: "n409.asc", role: "original" },
      ],
      links: [{ rel: "page", url: "https://neuromorpho.org/neuron_info.jsp?neuron_name=n409" }],
      attributes: { archive: ["Amaral"] },
      sourceModified: "2005-12-31T00:00:00Z",
    }),
    record({
      id: "neuromorpho:2",
      kind: "morphology",
      name: "ca3_basket_07",
      description: "Basket cell from mouse CA3.",
      species: ["mouse"],
      brainRegions: ["hippocampus", "CA3"],
      cellTypes: ["basket", "interneuron"],
      licence: "CC-BY-4.0",
      files: [{ url: `${files}/files/missing.swc`, format: "swc", name: "ca3_basket_07.swc" }],
      attributes: { archive: ["Soltesz"] },
      sourceModified: "2012-03-01T00:00:00Z",
    }),
    record({
      id: "neuromorpho:3",
      kind: "morphology",
      name: "ec_stellate_12",
      description: "Stellate cell of medial entorhinal cortex layer II.",
      species: ["rat"],
      brainRegions: ["entorhinal cortex", "medial entorhinal cortex"],
      cellTypes: ["stellate", "principal cell"],
      layers: ["layer 2"],
      licence: "CC-BY-4.0",
      attributes: { archive: ["Buzsaki"] },
      sourceModified: "2016-07-01T00:00:00Z",
    }),
    record({
      id: "modeldb:2488",
      kind: "model",
      name: "Pinsky-Rinzel two-compartment CA3 pyramidal cell model",
      description: "A reduced two-compartment model of a CA3 pyramidal neuron with bursting.",
      species: ["rat"],
      brainRegions: ["hippocampus", "CA3"],
      cellTypes: ["Hippocampus CA3 pyramidal GLU cell"],
      licence: null,
      citations: [{ text: "Pinsky PF, Rinzel J (1994) J Comput Neurosci 1:39-60" }],
      files: [{ url: `${files}/files/2488.zip`, format: "zip", name: "2488.zip", size: 64 }],
      attributes: { channels: ["I Na,t", "I K", "I Ca"], simulator: ["NEURON"] },
      sourceModified: "2019-05-01T00:00:00Z",
    }),
    record({
      id: "modeldb:3",
      kind: "model",
      name: "CA1 pyramidal neuron: dendritic spike initiation",
      description: "Compartmental model of dendritic sodium spikes in CA1 pyramidal cells.",
      species: ["rat"],
      brainRegions: ["hippocampus", "CA1"],
      cellTypes: ["Hippocampus CA1 pyramidal GLU cell"],
      files: [{ url: "https://elsewhere.example.org/3.zip", format: "zip", name: "3.zip" }],
      attributes: { channels: ["I Na,t", "I K"], simulator: ["NEURON"] },
      sourceModified: "2021-01-10T00:00:00Z",
    }),
    record({
      id: "modeldb:5",
      kind: "model",
      name: "Dentate gyrus network model",
      description: "Network of granule cells, mossy cells and basket cells of the dentate gyrus.",
      species: ["rat"],
      brainRegions: ["hippocampus", "dentate gyrus"],
      cellTypes: ["Dentate gyrus granule GLU cell", "Dentate gyrus basket cell", "mossy cell"],
      attributes: { simulator: ["GENESIS"] },
      sourceModified: "2010-02-02T00:00:00Z",
    }),
    record({
      id: "hippocampome:1000",
      kind: "neuron type",
      name: "DG Granule",
      description: "Principal excitatory neuron of the dentate gyrus granule layer.",
      species: ["rat", "mouse"],
      brainRegions: ["dentate gyrus"],
      cellTypes: ["Granule"],
      layers: ["SG"],
      markers: ["Calb", "Prox1"],
      licence: "CC-BY-4.0",
    }),
    record({
      id: "hippocampome:2000",
      kind: "neuron type",
      name: "CA1 Pyramidal",
      description: "Principal excitatory neuron of CA1.",
      species: ["rat", "mouse"],
      brainRegions: ["CA1"],
      cellTypes: ["Pyramidal"],
      layers: ["SP"],
      markers: ["CB"],
      licence: "CC-BY-4.0",
    }),
    record({
      id: "hippocampome:2010",
      kind: "neuron type",
      name: "CA1 O-LM",
      description: "Oriens lacunosum-moleculare interneuron of CA1.",
      species: ["rat"],
      brainRegions: ["CA1"],
      cellTypes: ["O-LM"],
      layers: ["SO"],
      markers: ["SOM", "PV"],
      licence: "CC-BY-4.0",
    }),
    record({
      id: "dandi:000003",
      kind: "dataset",
      name: "Physiological properties and behavioral correlates of hippocampal granule cells and mossy cells",
      description: "Extracellular recordings in the dentate gyrus of freely moving mice.",
      species: ["Mus musculus - House mouse"],
      brainRegions: ["dentate gyrus"],
      cellTypes: ["granule cell", "mossy cell"],
      licence: "CC-BY-4.0",
      files: [{ url: "http://127.0.0.1:1/unreachable.nwb", format: "nwb", name: "sub-1.nwb" }],
      sourceModified: "2022-05-05T00:00:00Z",
    }),
    record({
      id: "dandi:000004",
      kind: "dataset",
      name: "Old hippocampal place cell dataset",
      description: "Withdrawn upstream: no longer listed by DANDI.",
      species: ["rat"],
      brainRegions: ["hippocampus", "CA1"],
      cellTypes: ["place cell"],
      licence: "CC-BY-4.0",
      withdrawn: true,
      withdrawnAt: "2026-01-02T00:00:00.000Z",
    }),
    record({
      id: "neuromorpho:4",
      kind: "morphology",
      name: "sub_bursting_03",
      description: "Bursting pyramidal cell of the subiculum.",
      species: ["rat"],
      brainRegions: ["subiculum"],
      cellTypes: ["bursting pyramidal", "principal cell"],
      licence: "CC-BY-4.0",
      files: [{ url: `${files}/files/sub.swc`, format: "swc", name: "sub_bursting_03.swc" }],
    }),
  ];
}

export async function writeRecords(records: CatalogRecord[]): Promise<void> {
  const db = firestore();
  const batch = db.batch();
  for (const r of records) batch.set(db.collection(CATALOG_COLLECTIONS.records).doc(catalogDocId(r.id)), r);
  await batch.commit();
}

export interface FileServer {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

/** Bytes of each served file: deterministic, so tests can compare what the zip holds. */
export const FILE_BODIES: Record<string, Buffer> = {
  "/files/n409.CNG.swc": Buffer.from("# n409 standardized\n1 1 0 0 0 5 -1\n".padEnd(40, "#")),
  "/files/n409.asc": Buffer.from('("CellBody"\n  (Color Red)\n  (0 0 0 5)\n)\n'),
  "/files/2488.zip": Buffer.alloc(64, 7),
  "/files/sub.swc": Buffer.from("# subiculum\n1 1 0 0 0 4 -1\n2 3 0 10 0 1 1\n"),
};

/** A stand-in for the sources' file hosts: FILE_BODIES, anything else 404. */
export async function startFileServer(): Promise<FileServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? "");
    const body = FILE_BODIES[req.url ?? ""];
    if (!body) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    // Sizes deliberately not sent for .asc, like servers that chunk their responses.
    const chunked = req.url?.endsWith(".asc");
    res.writeHead(200, {
      "content-type": "application/octet-stream",
      ...(chunked ? {} : { "content-length": body.length }),
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface CatalogWorld {
  api: TestServer;
  gcs: StorageServer;
  storage: Storage;
  files: FileServer;
  records: CatalogRecord[];
  /** The config the API was served with, to serve variants of it. */
  overrides: Partial<ConfigInput>;
  publish(trigger?: string): Promise<IndexPointer>;
  close(): Promise<void>;
}

/**
 * Starts storage, the file server and the API. The three file-hosting sources point at the file
 * server; DANDI at a closed port, so its files are unreachable.
 */
export async function startWorld(overrides: Partial<ConfigInput> = {}): Promise<CatalogWorld> {
  const gcs = await startStorageServer();
  const files = await startFileServer();
  const storage = new Storage({ apiEndpoint: gcs.url, projectId: "demo-neurofire" });
  const config: Partial<ConfigInput> = {
    storageApiEndpoint: gcs.url,
    catalogBucket: BUCKET,
    catalogIndexCheckSeconds: 0,
    neuromorphoBaseUrl: files.url,
    hippocampomeBaseUrl: files.url,
    modeldbBaseUrl: files.url,
    dandiBaseUrl: "http://127.0.0.1:1",
    catalogDownloadFileTimeoutSeconds: 2,
    ...overrides,
  };
  const api = await serve([catalogApi, catalogAdminApi], config);
  return {
    overrides: config,
    api,
    gcs,
    storage,
    files,
    records: corpus(files.url),
    publish: (trigger = "test") => publishCatalogIndex(api.deps, trigger),
    async close() {
      await api.close();
      await files.close();
      await gcs.close();
    },
  };
}

export interface ZipEntry {
  name: string;
  data: Buffer;
}

/** Reads a zip through its central directory (stored and deflated entries): enough for yazl's output. */
export function readZip(zip: Buffer): ZipEntry[] {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error("not a zip: no end of central directory");
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const out: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error("bad central directory entry");
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLen = zip.readUInt16LE(at + 28);
    const extraLen = zip.readUInt16LE(at + 30);
    const commentLen = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLen).toString("utf8");
    const dataAt = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(dataAt, dataAt + compressed);
    out.push({ name, data: method === 8 ? inflateRawSync(raw) : Buffer.from(raw) });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}
