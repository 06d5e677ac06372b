/**
 * Walks every route of every API group and checks its declared permission against the
 * permission matrix: each persona either is stopped at the gate (401/403, before any input but
 * the path is read) or gets through it. The expected table below is written out by hand, not
 * derived from auth/permissions.ts, so a route declaring the wrong permission, or the ladder
 * changing, fails here.
 */
import assert from "node:assert/strict";
import { apiGroups } from "../../src/api/groups.js";
import { firestore } from "../../src/store/firebase.js";
import type { Allow, RouteDef } from "../../src/http/route.js";
import {
  call,
  personaTokens,
  PERSONA_NAMES,
  PRIVATE_DS,
  resetToSeed,
  serve,
  type Persona,
  type TestServer,
} from "../helpers/server.js";

/** Which personas pass each kind of gate on PRIVATE_DS (see seedPersonas for their roles). */
const PASSES: Record<string, Persona[]> = {
  anyone: ["anonymous", "unknown", "reader", "writer", "datasetAdmin", "admin"],
  signedIn: ["unknown", "reader", "writer", "datasetAdmin", "admin"],
  admin: ["admin"],
  can_read: ["reader", "writer", "datasetAdmin", "admin"],
  can_write_own: ["reader", "writer", "datasetAdmin", "admin"],
  can_write_others: ["writer", "datasetAdmin", "admin"],
  is_dataset_admin: ["datasetAdmin", "admin"],
  // clio's has_role on the ladder: clio_general is the reader persona's role.
  clio_general: ["reader", "writer", "datasetAdmin", "admin"],
};

function gateOf(allow: Allow): string {
  if (typeof allow === "string") return allow;
  if ("permission" in allow) return allow.permission;
  // Roles set by a param are checked with their default (TRANSFER_ROLE = clio_general).
  return typeof allow.role === "string" ? allow.role : "clio_general";
}

const PRIVATE_SIG_DS = "private_sig";

/** Path-param values that pass every group's param schema, so the gate is what decides. */
const PARAM_VALUES: Record<string, string> = {
  dataset: PRIVATE_DS,
  // Signature datasets name BigQuery datasets: underscores only (seeded below like PRIVATE_DS).
  sigDataset: PRIVATE_SIG_DS,
  source: "dandi",
  file: "swagger-ui.css",
  path: "session/recording.nwb",
  scope: "prefs",
  key: "k1",
  id: "1",
  ids: "1,2",
};

function concretePath(mount: string, def: RouteDef): string {
  const datasetKey = mount.startsWith("/v2/signatures") ? "sigDataset" : "dataset";
  const tail = def.path.replace(
    /[:*]([A-Za-z_]\w*)/g,
    (_m, name: string) => PARAM_VALUES[name === "dataset" ? datasetKey : name] ?? "x",
  );
  return tail === "/" ? mount : `${mount}${tail}`;
}

/** A body for gates that read the dataset from it: just enough to reach the gate. */
function gateBody(def: RouteDef): unknown {
  if (typeof def.allow === "string" || def.allow.from !== "body") return undefined;
  return { [def.allow.dataset]: PRIVATE_DS, model_name: "m", center: [0, 0, 0] };
}

/** A HEAD answer has no body to tell the gate's 403 from a service's; none of them decide in HEAD. */
function gateDenial(method: string, status: number, detail: unknown): boolean {
  if (status === 401) return true;
  return status === 403 && (method === "head" || /lacks |Inactive user/.test(String(detail)));
}

/** A second private dataset in which every persona has the role it has in PRIVATE_DS. */
async function seedSignatureDataset(): Promise<void> {
  const db = firestore();
  await db.collection("clio_datasets").doc(PRIVATE_SIG_DS).set({ description: "private, with signatures" });
  const users = await db.collection("clio_users").get();
  for (const doc of users.docs) {
    const roles = (doc.get("datasets") as Record<string, string[]> | undefined)?.[PRIVATE_DS];
    if (roles) await doc.ref.set({ datasets: { [PRIVATE_SIG_DS]: roles } }, { merge: true });
  }
}

describe("every route's declared permission", () => {
  let server: TestServer;
  let tokens: Record<Persona, string | undefined>;

  before(async () => {
    server = await serve(apiGroups);
    tokens = await personaTokens();
  });
  // Routes that get through may write (POST /v2/server/revoke revokes the caller's tokens).
  beforeEach(async () => {
    await resetToSeed(server);
    await seedSignatureDataset();
  });
  after(() => server.close());

  for (const group of apiGroups) {
    for (const def of group.routes) {
      const mount = group.mounts[0]!;
      it(`${def.method.toUpperCase()} ${mount}${def.path} allows ${gateOf(def.allow)}`, async () => {
        const passes = PASSES[gateOf(def.allow)];
        assert.ok(passes, `no matrix row for ${gateOf(def.allow)}`);
        const got: Record<string, string> = {};
        const want: Record<string, string> = {};
        for (const persona of PERSONA_NAMES) {
          const res = await call<{ detail?: string }>(server.url, def.method, concretePath(mount, def), {
            token: tokens[persona],
            body: gateBody(def),
          });
          const denied = gateDenial(def.method, res.status, res.body?.detail);
          got[persona] = denied ? `denied ${res.status}` : "through";
          want[persona] = passes.includes(persona)
            ? "through"
            : persona === "anonymous"
              ? "denied 401"
              : "denied 403";
        }
        assert.deepEqual(got, want);
      });
    }
  }
});
