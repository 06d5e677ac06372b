/**
 * The permission matrix of a read-only, one-dataset key over every route of every group: every
 * write and every other dataset is refused, and reads of its dataset answer as they do for the
 * owner (or 403 where they need more than clio_read).
 */
import assert from "node:assert/strict";
import { apiGroups } from "../../src/api/groups.js";
import { policyOf } from "../../src/http/policy.js";
import { API_KEYS } from "../../src/store/keys.js";
import {
  apiToken,
  call,
  PERSONAS,
  PRIVATE_DS,
  PUBLIC_DS,
  resetToSeed,
  serve,
  type TestServer,
} from "../helpers/server.js";
import { mint, snapshotAll } from "./helpers.js";

interface Case {
  label: string;
  method: string;
  path: string;
  write: boolean;
  dataset: string | undefined;
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const group of apiGroups) {
    for (const mount of group.mounts) {
      for (const def of group.routes) {
        const write = (() => {
          const p = policyOf(group.name, def);
          return p.rateClass === "write" || p.audit !== undefined;
        })();
        const methods = def.alsoPut ? [def.method, "put"] : [def.method];
        const datasets = def.path.includes(":dataset") ? [PRIVATE_DS, PUBLIC_DS] : [undefined];
        for (const method of methods) {
          for (const dataset of datasets) {
            const path =
              mount +
              (def.path === "/" ? "" : def.path)
                .replace(":dataset", dataset ?? "")
                .replace("*path", "session-001/notes.txt")
                .replace(/:[A-Za-z_]\w*/g, "x1");
            out.push({
              label: `${method.toUpperCase()} ${path}`,
              method: method.toUpperCase(),
              path,
              write,
              dataset,
            });
          }
        }
      }
    }
  }
  return out;
}

describe("a read-only one-dataset key over every route", () => {
  let api: TestServer;
  before(async () => {
    api = await serve(apiGroups);
  });
  after(() => api.close());

  it("refuses every write and every other dataset; reads its dataset like its owner", async function () {
    this.timeout(120_000);
    await resetToSeed(api);
    const admin = await apiToken(PERSONAS.admin);
    const stranger = await apiToken(PERSONAS.unknown);
    const key = (await mint(api.url, admin, { name: "ro", datasets: [PRIVATE_DS] })).key;
    const before = await snapshotAll([API_KEYS]);
    const all = cases();
    assert.ok(all.length > 50, `${all.length} route cases`);

    let readsGranted = 0;
    const problems: string[] = [];
    for (const c of all) {
      const body = c.method === "GET" || c.method === "HEAD" ? undefined : {};
      const got = await call(api.url, c.method, c.path, { token: key, body });
      if (c.write) {
        if (got.status !== 403 || !/read-only/.test(got.text))
          problems.push(`${c.label}: write answered ${got.status}`);
        continue;
      }
      const owner = await call(api.url, c.method, c.path, { token: admin, body });
      const ownerOk = owner.status < 300;
      if (c.dataset === PUBLIC_DS) {
        if (ownerOk ? got.status !== 403 : got.status < 300)
          problems.push(`${c.label}: other dataset answered ${got.status} (owner ${owner.status})`);
      } else if (c.dataset === PRIVATE_DS) {
        if (got.status !== owner.status && got.status !== 403)
          problems.push(`${c.label}: answered ${got.status}, owner ${owner.status}`);
        if (got.status < 300) readsGranted += 1;
      } else {
        const none = await call(api.url, c.method, c.path, { token: stranger, body });
        if (got.status !== none.status && got.status !== 403)
          problems.push(`${c.label}: answered ${got.status}, a user with no roles ${none.status}`);
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(readsGranted >= 3, `reads of its own dataset granted: ${readsGranted}`);
    assert.deepEqual(await snapshotAll([API_KEYS]), before, "nothing written by the key");
  });
});
