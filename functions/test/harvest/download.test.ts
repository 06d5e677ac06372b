/**
 * Catalog downloads of harvested records, fetched through the harvest client's `open()` from the
 * loopback upstream: DANDI's redirect to its S3 bucket (another host, allowed by a param),
 * NeuroMorpho's HTML error pages sent with 200 (a fault: no recording of one exists), and the
 * host's size cap.
 */
import assert from "node:assert/strict";
import { buffer } from "node:stream/consumers";

import type { Firestore } from "firebase-admin/firestore";

import { startUpstreamServer, type UpstreamServer } from "../../loopback/upstream.js";
import { createDownloadClient, streamDownload, type Manifest } from "../../src/services/catalog/download.js";
import { runHarvest } from "../../src/services/harvest.js";
import type { CatalogRecord } from "../../src/schemas/catalog.js";
import { firestore } from "../../src/store/firebase.js";
import { readZip } from "../catalog/fixture.js";
import { testConfig } from "../helpers/server.js";
import { clearFirestore } from "../setup/hooks.js";
import { fastOptions, quietLog, record } from "./helpers.js";

describe("harvest: downloads of harvested files", () => {
  let db: Firestore;
  let upstream: UpstreamServer;

  beforeEach(async () => {
    db = firestore();
    await clearFirestore();
    upstream = await startUpstreamServer();
  });
  afterEach(async () => upstream.close());

  function config(overrides: Record<string, unknown> = {}) {
    return testConfig({
      neuromorphoBaseUrl: upstream.url,
      dandiBaseUrl: upstream.url,
      dandiRedirectHosts: new URL(upstream.s3Url).host,
      // DANDI states sizes in gigabytes; these tests only look at the first files.
      catalogDownloadMaxBytes: 1024 ** 4,
      ...overrides,
    });
  }

  async function download(records: CatalogRecord[], cfg = config()) {
    const zip = streamDownload(
      {
        config: cfg,
        now: () => new Date("2026-01-01T00:00:00Z"),
        log: quietLog,
        downloadClient: () => Promise.resolve(createDownloadClient(cfg)),
      },
      { ids: records.map((r) => r.id) },
      { records, notFound: [] },
    );
    const [bytes] = await Promise.all([buffer(zip.stream), zip.done]);
    const entries = readZip(bytes);
    const manifest = JSON.parse(
      entries.find((e) => e.name === "manifest.json")!.data.toString("utf8"),
    ) as Manifest;
    return { entries, manifest };
  }

  /** A harvested record keeping only its first `n` files. */
  const firstFiles = (r: CatalogRecord, n: number): CatalogRecord => ({ ...r, files: r.files.slice(0, n) });

  it("follows DANDI's asset redirect to its S3 host when the param allows it", async () => {
    await runHarvest({ db, log: quietLog }, "dandi", fastOptions(upstream.url));
    const dandiset = firstFiles(await record(db, "dandi:000003"), 2);
    const { entries, manifest } = await download([dandiset]);
    assert.deepEqual(
      manifest.files.map((f) => f.status),
      ["ok", "ok"],
    );
    const first = entries.find((e) =>
      e.name.endsWith("sub-YutaMouse20_ses-YutaMouse20-140327_behavior+ecephys.nwb"),
    )!;
    assert.equal(
      first.data.toString(),
      "loopback placeholder of blob 58c53789-eec4-4080-ad3b-207cf2a1cac9\n",
    );
    assert.ok(upstream.requests.includes("s3:/blobs/58c/537/58c53789-eec4-4080-ad3b-207cf2a1cac9"));
  });

  it("refuses the same redirect when the S3 host is not on the list, and says why", async () => {
    await runHarvest({ db, log: quietLog }, "dandi", fastOptions(upstream.url));
    const dandiset = firstFiles(await record(db, "dandi:000003"), 1);
    const { entries, manifest } = await download([dandiset], config({ dandiRedirectHosts: "" }));
    assert.equal(manifest.files[0]!.status, "failed");
    assert.match(manifest.files[0]!.reason!, /redirected to 127\.0\.0\.1:\d+, which is not allowed/);
    assert.deepEqual(
      entries.map((e) => e.name),
      ["manifest.json"],
    );
    assert.ok(!upstream.requests.some((p) => p.startsWith("s3:")), "the other host was never asked");
  });

  it("an HTML page answered with 200 for a NeuroMorpho SWC is unreadable, not put in the zip", async () => {
    await runHarvest({ db, log: quietLog }, "neuromorpho", fastOptions(upstream.url));
    const neuron = await record(db, "neuromorpho:900001");
    const [swc] = neuron.files;
    assert.equal(swc!.format, "swc");
    upstream.faults.push({ match: new URL(swc!.url).pathname, kind: "page" });
    const { entries, manifest } = await download([{ ...neuron, files: [swc!] }]);
    assert.equal(manifest.files[0]!.status, "unreadable");
    assert.match(manifest.files[0]!.reason!, /HTML page \(text\/html;charset=UTF-8\), not the swc file/);
    assert.equal(manifest.totals.unreadable, 1);
    assert.deepEqual(
      entries.map((e) => e.name),
      ["manifest.json"],
    );
  });

  it("an HTML page sent as text/plain is recognised by its first bytes", async () => {
    await runHarvest({ db, log: quietLog }, "neuromorpho", fastOptions(upstream.url));
    const neuron = await record(db, "neuromorpho:900001");
    const [swc] = neuron.files;
    upstream.faults.push({ match: new URL(swc!.url).pathname, kind: "page", contentType: "text/plain" });
    const { manifest } = await download([{ ...neuron, files: [swc!] }]);
    assert.equal(manifest.files[0]!.status, "unreadable");
    assert.match(manifest.files[0]!.reason!, /sent as text\/plain/);
  });

  it("downloads name the operator's HARVEST_CONTACT in their User-Agent (review §5)", async () => {
    await runHarvest({ db, log: quietLog }, "neuromorpho", fastOptions(upstream.url));
    const neuron = await record(db, "neuromorpho:900001");
    upstream.userAgents.clear();
    await download(
      [{ ...neuron, files: neuron.files.slice(0, 1) }],
      config({ harvestContact: "ops@example.org" }),
    );
    assert.deepEqual(
      [...upstream.userAgents],
      ["neurofire-harvester/1.0 (+https://github.com/neurofire; catalog harvest; ops@example.org)"],
    );
  });

  it("a real SWC body goes into the zip whole", async () => {
    await runHarvest({ db, log: quietLog }, "neuromorpho", fastOptions(upstream.url));
    const neuron = await record(db, "neuromorpho:900001");
    const { entries, manifest } = await download([{ ...neuron, files: neuron.files.slice(0, 1) }]);
    assert.equal(manifest.files[0]!.status, "ok");
    const swc = entries.find((e) => e.name.endsWith(".swc"))!;
    assert.match(swc.data.toString(), /^# loopback upstream\n1 1 0 0 0 5\.0 -1\n/);
    assert.equal(manifest.files[0]!.size, swc.data.length);
  });
});
