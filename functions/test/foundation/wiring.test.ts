/** The function exports, the group table and firebase.json's Hosting rewrites agree. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { apiGroups } from "../../src/api/groups.js";
import * as functions from "../../src/index.js";

interface Rewrite {
  source: string;
  function?: { functionId: string; region: string };
}

const firebaseJson = JSON.parse(
  readFileSync(path.join(import.meta.dirname, "..", "..", "..", "firebase.json"), "utf8"),
) as {
  hosting: { rewrites: Rewrite[] };
  functions: { runtime: string }[];
};

describe("wiring", () => {
  it("exports every API group as a function of its name, unique after lower-casing", () => {
    const exported = functions as Record<string, unknown>;
    for (const group of apiGroups)
      assert.equal(typeof exported[group.name], "function", `index.ts exports ${group.name}`);
    const names = Object.keys(exported).map((n) => n.toLowerCase());
    assert.equal(new Set(names).size, names.length);
  });

  it("routes every mount of every group through Hosting to that group's function", () => {
    const rewrites = new Map(firebaseJson.hosting.rewrites.map((r) => [r.source, r.function?.functionId]));
    for (const group of apiGroups) {
      for (const mount of group.mounts)
        assert.equal(rewrites.get(`${mount}{,/**}`), group.name, `rewrite for ${mount}`);
    }
    for (const [, fn] of rewrites) assert.ok(fn && fn in functions, `rewrite target ${fn} is exported`);
  });

  it("deploys on the nodejs22 runtime", () => {
    assert.equal(firebaseJson.functions[0]!.runtime, "nodejs22");
  });
});
