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

  it("loads, for each HTTP function, the group of its own name, and imports none at startup", async () => {
    const served: string[] = [];
    for (const [name, fn] of Object.entries(functions as Record<string, unknown>)) {
      const loadGroup = (fn as { loadGroup?: () => Promise<{ name: string }> }).loadGroup;
      if (!loadGroup) continue; // a trigger
      assert.equal((await loadGroup()).name, name, `export ${name}`);
      served.push(name);
    }
    assert.deepEqual(served.sort(), [...apiGroups.map((g) => g.name), "docs"].sort());
    const index = readFileSync(path.join(import.meta.dirname, "..", "..", "src", "index.ts"), "utf8");
    assert.doesNotMatch(index, /^import .*\.\/api\//m, "index.ts imports API modules only lazily");
  });

  it("routes every route of every group through Hosting to that group's function", () => {
    // Hosting takes the first rewrite that matches; ours are exact paths or `/prefix{,/**}`.
    const matches = (source: string, urlPath: string) => {
      const prefix = source.endsWith("{,/**}") ? source.slice(0, -"{,/**}".length) : undefined;
      return prefix === undefined
        ? urlPath === source
        : urlPath === prefix || urlPath.startsWith(`${prefix}/`);
    };
    for (const group of apiGroups) {
      for (const mount of group.mounts) {
        for (const def of group.routes) {
          const concrete = `${mount}${def.path === "/" ? "" : def.path}`.replace(/[:*][A-Za-z_]\w*/g, "x");
          const rewrite = firebaseJson.hosting.rewrites.find((r) => matches(r.source, concrete));
          assert.equal(rewrite?.function?.functionId, group.name, `${def.method.toUpperCase()} ${concrete}`);
        }
      }
    }
    for (const rewrite of firebaseJson.hosting.rewrites) {
      const fn = rewrite.function?.functionId;
      assert.ok(fn && fn in functions, `rewrite target ${fn} is exported`);
    }
  });

  it("deploys on the nodejs22 runtime", () => {
    assert.equal(firebaseJson.functions[0]!.runtime, "nodejs22");
  });
});
