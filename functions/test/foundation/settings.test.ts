/** The README's settings table is generated from the one list of settings in config.ts. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { format } from "prettier";
import { configSchema, settings, settingsTable } from "../../src/config.js";

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
