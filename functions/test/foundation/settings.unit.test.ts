/** The README's settings table is generated from the one list of settings in config.ts. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { format } from "prettier";
import { configSchema, loadConfig, settings, settingsTable } from "../../src/config.js";

describe("settings", () => {
  it("README lists every setting with its default and meaning, as config.ts declares them", async () => {
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
    const table = (await format(settingsTable(), { parser: "markdown", printWidth: 110 })).trim();
    assert.ok(readme.includes(table), "README's settings table is stale: run `npm run settings`");
    for (const s of Object.values(settings)) assert.ok(readme.includes(`\`${s.name}\``), s.name);
  });

  it("each param's default parses to the config's default", () => {
    const config = configSchema.parse({ projectId: "p" });
    assert.equal(config.tokenIssuer, settings.tokenIssuer.default);
    assert.deepEqual(config.allowedOrigins, ["*"]);
    assert.deepEqual(config.harvestIntervalHours, {
      neuromorpho: 168,
      hippocampome: 24,
      modeldb: 24,
      dandi: 24,
    });
    assert.throws(() => configSchema.parse({ projectId: "p", urlPrefix: "api" }), /URL_PREFIX/);
  });
});

describe("loadConfig", () => {
  it("reads each param into its own config field", () => {
    // The runtime sets every param in the environment (the deploy resolves defaults), so do we.
    const env: Record<string, string> = {
      ...Object.fromEntries(Object.values(settings).map((s) => [s.name, String(s.default)])),
      GCLOUD_PROJECT: "demo-settings",
      FLYEM_SECRET: "s3cret-value-for-this-test-only-32+",
      URL_PREFIX: "/api",
      API_TOKEN_LIFETIME_SECONDS: "3600",
      GOOGLE_AUDIENCES: "a.apps.googleusercontent.com, b",
      HARVEST_INTERVAL_HOURS: "dandi=2",
      CATALOG_DOWNLOAD_MAX_RECORDS: "7",
    };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    try {
      const config = loadConfig();
      assert.equal(config.projectId, "demo-settings");
      assert.equal(config.tokenSecret, env.FLYEM_SECRET);
      assert.equal(config.urlPrefix, "/api");
      assert.equal(config.tokenLifetimeSeconds, 3600);
      assert.deepEqual(config.googleAudiences, ["a.apps.googleusercontent.com", "b"]);
      assert.deepEqual(config.harvestIntervalHours, { dandi: 2 });
      assert.equal(config.catalogDownloadMaxRecords, 7);
      assert.equal(config.tokenIssuer, settings.tokenIssuer.default, "unset params keep their defaults");
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
