import assert from "node:assert/strict";
import { call, type TestServer } from "../helpers/server.js";
import { connectomeServer, EXAMPLES, findPathsUrl, referenceGraph, referencePaths } from "./fixture.js";

interface PathOut {
  path: string[];
  edges: { pre: string; post: string; count: number; type: string }[];
  total_weight: number;
  hops: number;
  weakest_edge: { count: number } | null;
  cost: number;
}
interface Found {
  dataset_id: string;
  nodes: string[];
  paths: PathOut[];
  truncated: boolean;
  message?: string;
}

const WWW_PATH_KEYS = ["path", "edges", "total_weight"];
/** The response restricted to WormWideWeb's own keys, paths in a fixed order. */
function wwwView(body: Record<string, unknown>): Record<string, unknown> {
  const { truncated: _t, ...rest } = body;
  const paths = (rest.paths as PathOut[]).map((p) =>
    Object.fromEntries(Object.entries(p).filter(([k]) => WWW_PATH_KEYS.includes(k))),
  );
  paths.sort((a, b) => ((a.path as string[]).join() < (b.path as string[]).join() ? -1 : 1));
  return { ...rest, paths, ...(rest.nodes ? { nodes: [...(rest.nodes as string[])].sort() } : {}) };
}

describe("connectome find-paths", () => {
  let server: TestServer;
  before(async () => {
    server = await connectomeServer();
  });
  after(() => server.close());

  const get = (q: Record<string, string | number | boolean>) =>
    call<Found>(server.url, "GET", findPathsUrl(q));

  describe("WormWideWeb's own answers (EXAMPLES.json)", () => {
    for (const ex of EXAMPLES) {
      it(`${ex.id}: ${ex.dataset} ${ex.start} → ${ex.end} weighted=${ex.weighted} gap=${ex.gap_junction} class=${ex.class}`, async () => {
        const res = await get({
          dataset: ex.dataset,
          start: ex.start,
          end: ex.end,
          weighted: ex.weighted,
          gap_junction: ex.gap_junction,
          class: ex.class,
        });
        assert.equal(res.status, ex.status);
        assert.equal(res.body.truncated, false);
        assert.deepEqual(wwwView(res.body as unknown as Record<string, unknown>), wwwView(ex.response));
      });
    }
  });

  describe("generated goldens (independent brute-force reference)", () => {
    // Pairs chosen to cover neighbours, mid-range pairs, ties, class level, and a sink.
    const cases: [string, string, string][] = [
      ["white_1986_whole", "ASHL", "AVAL"],
      ["white_1986_whole", "ADLL", "RIML"],
      ["white_1986_whole", "AWCL", "AIYR"],
      ["white_1986_whole", "PHAL", "URXL"],
      ["white_1986_whole", "ALML", "AVDR"],
      ["white_1986_whole", "RMGL", "ASKR"],
      ["white_1986_whole", "PVDL", "DVA"],
      ["witvliet_2020_8", "ASEL", "AIBR"],
      ["witvliet_2020_8", "AWCL", "RIAR"],
      ["witvliet_2020_8", "ADLR", "AVAL"],
      ["witvliet_2020_4", "AFDL", "AIYL"],
    ];
    const classCases: [string, string, string][] = [
      ["white_1986_whole", "AVA", "AVB"],
      ["white_1986_whole", "ASH", "RIM"],
      ["white_1986_whole", "AWC", "SMD"],
      ["witvliet_2020_8", "AWC", "RIA"],
      ["witvliet_2020_1", "ASE", "AVA"],
    ];
    const runs: { dataset: string; start: string; end: string; level: "neuron" | "class" }[] = [
      ...cases.map(([dataset, start, end]) => ({ dataset, start, end, level: "neuron" as const })),
      ...classCases.map(([dataset, start, end]) => ({ dataset, start, end, level: "class" as const })),
    ];
    let compared = 0;
    let ties = 0;
    for (const r of runs)
      for (const weighted of [true, false])
        for (const gap of [true, false]) {
          it(`${r.dataset} ${r.level} ${r.start} → ${r.end} weighted=${weighted} gap=${gap}`, async function () {
            const ref = referenceGraph(r.dataset, r.level, !gap);
            if (!ref.has(r.start)) this.skip();
            const expected = referencePaths(ref, r.start, r.end, weighted);
            const res = await get({
              dataset: r.dataset,
              start: r.start,
              end: r.end,
              weighted,
              gap_junction: gap,
              class: r.level === "class",
            });
            assert.equal(res.status, 200);
            assert.deepEqual(
              res.body.paths.map((p) => p.path),
              expected,
            );
            compared += 1;
            if (expected.length > 1) ties += 1;
          });
        }
    it("covered real ties", () => {
      assert.ok(compared >= 50, `${compared} comparisons`);
      assert.ok(ties >= 3, `${ties} comparisons had tied paths`);
    });

    it("an unreachable pair is 200 with no paths, as WormWideWeb answers it", async () => {
      // The legacy body-wall muscle group only receives chemical synapses: nothing leaves it.
      const res = await get({
        dataset: "white_1986_whole",
        start: "LegacyBodyWallMuscles",
        end: "AVAL",
        weighted: false,
        gap_junction: false,
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { paths: [], message: "No path found", truncated: false });
    });

    it("Witvliet graphs have no gap junctions even with gap_junction=true", async () => {
      const withGap = await get({
        dataset: "witvliet_2020_8",
        start: "AWCL",
        end: "RIAR",
        weighted: true,
        gap_junction: true,
      });
      const without = await get({
        dataset: "witvliet_2020_8",
        start: "AWCL",
        end: "RIAR",
        weighted: true,
        gap_junction: false,
      });
      assert.deepEqual(withGap.body.paths, without.body.paths);
      for (const p of withGap.body.paths) for (const e of p.edges) assert.equal(e.type, "c");
    });
  });

  describe("WormWideWeb's quirks", () => {
    it("only the exact string true is true: weighted=1 is hop count", async () => {
      const one = await get({ dataset: "white_1986_whole", start: "ASHL", end: "AVAL", weighted: 1 });
      const hop = await get({ dataset: "white_1986_whole", start: "ASHL", end: "AVAL", weighted: "false" });
      assert.equal(one.status, 200);
      assert.equal((one.body as unknown as { use_weights: boolean }).use_weights, false);
      assert.deepEqual(one.body.paths, hop.body.paths);
      assert.equal(one.body.paths[0]!.hops, 1); // ASHL → AVAL directly
    });

    it("an unknown start is 400 naming it; an unknown end is 200 No path found", async () => {
      const start = await get({ dataset: "white_1986_whole", start: "NOPE", end: "AVAL" });
      assert.equal(start.status, 400);
      assert.match((start.body as unknown as { detail: string }).detail, /Start neuron NOPE/);
      const end = await get({ dataset: "white_1986_whole", start: "ASHL", end: "NOPE" });
      assert.equal(end.status, 200);
      assert.equal(end.body.message, "No path found");
    });

    it("total_weight sums synapse counts; each path reports hops, weakest edge and cost", async () => {
      const res = await get({
        dataset: "white_1986_whole",
        start: "ASHL",
        end: "VA08",
        weighted: true,
        gap_junction: false,
      });
      const p = res.body.paths[0]!;
      assert.deepEqual(p.path, ["ASHL", "AVBL", "AVAR", "VA08"]);
      assert.equal(
        p.total_weight,
        p.edges.reduce((a, e) => a + e.count, 0),
      );
      assert.equal(p.hops, 3);
      assert.equal(p.weakest_edge!.count, Math.min(...p.edges.map((e) => e.count)));
      assert.equal(p.cost, 0.39285714285714285);
    });
  });

  describe("extensions", () => {
    it("k shortest paths agree with all shortest paths when k covers the ties", async () => {
      for (const [dataset, start, end, weighted] of [
        ["white_1986_whole", "PHAL", "URXL", true],
        ["white_1986_whole", "ADLL", "RIML", false],
        ["white_1986_whole", "AWCL", "AIYR", false],
      ] as const) {
        const all = await get({ dataset, start, end, weighted });
        const m = all.body.paths.length;
        const k = await get({ dataset, start, end, weighted, k: m + 2 });
        assert.equal(k.status, 200);
        assert.equal(k.body.paths.length, m + 2);
        const firstM = k.body.paths.slice(0, m).map((p) => p.path.join());
        assert.deepEqual(firstM.sort(), all.body.paths.map((p) => p.path.join()).sort(), `${start}→${end}`);
        const best = all.body.paths[0]!.cost;
        assert.ok(k.body.paths.slice(0, m).every((p) => p.cost === best));
        assert.ok(k.body.paths[m]!.cost > best, "the next path is strictly longer");
        for (let i = 1; i < k.body.paths.length; i++)
          assert.ok(k.body.paths[i]!.cost >= k.body.paths[i - 1]!.cost, "cheapest first");
      }
    });

    it("maxHops finds the cheapest path within the hop limit", async () => {
      // Weighted, ASHL→VA08 without gap junctions takes 3 hops; allowing 2 forces a costlier route.
      const free = await get({
        dataset: "white_1986_whole",
        start: "ASHL",
        end: "VA08",
        weighted: true,
        gap_junction: false,
      });
      const two = await get({
        dataset: "white_1986_whole",
        start: "ASHL",
        end: "VA08",
        weighted: true,
        gap_junction: false,
        maxHops: 2,
      });
      assert.equal(two.status, 200);
      assert.ok(two.body.paths.length > 0);
      for (const p of two.body.paths) assert.ok(p.hops <= 2);
      assert.ok(two.body.paths[0]!.cost > free.body.paths[0]!.cost);
      // A bound the shortest path already meets changes nothing.
      const ten = await get({
        dataset: "white_1986_whole",
        start: "ASHL",
        end: "VA08",
        weighted: true,
        gap_junction: false,
        maxHops: 10,
      });
      assert.deepEqual(ten.body.paths, free.body.paths);
      const one = await get({
        dataset: "white_1986_whole",
        start: "ASHL",
        end: "VA08",
        weighted: true,
        gap_junction: false,
        maxHops: 1,
      });
      assert.equal(one.body.message, "No path found");
    });

    it("minSynapses drops weaker edges from the search", async () => {
      const res = await get({
        dataset: "white_1986_whole",
        start: "ASHL",
        end: "VA08",
        weighted: false,
        minSynapses: 5,
      });
      assert.equal(res.status, 200);
      assert.ok(res.body.paths.length > 0);
      for (const p of res.body.paths) for (const e of p.edges) assert.ok(e.count >= 5);
      const plain = await get({ dataset: "white_1986_whole", start: "ASHL", end: "VA08", weighted: false });
      assert.notDeepEqual(res.body.paths, plain.body.paths);
    });

    it("synapseType=electrical walks gap junctions only", async () => {
      const res = await get({
        dataset: "white_1986_whole",
        start: "AVAL",
        end: "AVAR",
        weighted: true,
        synapseType: "electrical",
      });
      assert.equal(res.status, 200);
      assert.ok(res.body.paths.length > 0);
      for (const p of res.body.paths) for (const e of p.edges) assert.equal(e.type, "e");
    });

    it("datasets=a,b answers the same query per dataset (the Witvliet series)", async () => {
      const series = Array.from({ length: 8 }, (_, i) => `witvliet_2020_${i + 1}`);
      const res = await call<{ results: Found[] }>(
        server.url,
        "GET",
        findPathsUrl({ datasets: series.join(","), start: "AWCL", end: "AIYL", weighted: true }),
      );
      assert.equal(res.status, 200);
      assert.deepEqual(
        res.body.results.map((r) => r.dataset_id),
        series,
      );
      const single = await get({ dataset: "witvliet_2020_8", start: "AWCL", end: "AIYL", weighted: true });
      const { dataset_id: _d, ...last } = res.body.results[7]!;
      const { dataset_id: _e, ...one } = single.body;
      assert.deepEqual(last, one);
    });
  });

  describe("caps and limits", () => {
    it("maxPaths caps the tied paths and says truncated", async () => {
      const all = await get({ dataset: "white_1986_whole", start: "ADLL", end: "RIML", weighted: false });
      assert.ok(all.body.paths.length >= 2);
      const capped = await get({
        dataset: "white_1986_whole",
        start: "ADLL",
        end: "RIML",
        weighted: false,
        maxPaths: 1,
      });
      assert.equal(capped.body.paths.length, 1);
      assert.equal(capped.body.truncated, true);
      assert.equal(all.body.truncated, false);
    });

    it("the most distant pair with no caps answers within the hard limits", async () => {
      // The pair with the longest hop distance in white_1986_whole (found by BFS from every node).
      const ref = referenceGraph("white_1986_whole", "neuron", false);
      let far: [string, string, number] = ["", "", -1];
      for (const s of ref.keys()) {
        const depth = new Map([[s, 0]]);
        const queue = [s];
        while (queue.length > 0) {
          const v = queue.shift()!;
          for (const w of ref.get(v)!.keys())
            if (!depth.has(w)) {
              depth.set(w, depth.get(v)! + 1);
              queue.push(w);
            }
        }
        for (const [t, d] of depth) if (d > far[2]) far = [s, t, d];
      }
      const res = await get({
        dataset: "white_1986_whole",
        start: far[0],
        end: far[1],
        weighted: false,
        gap_junction: true,
      });
      assert.equal(res.status, 200);
      assert.ok(res.body.paths.length > 0 && res.body.paths.length <= 1000);
      assert.equal(res.body.paths[0]!.hops, far[2]);
    });

    it("a tight step budget gives truncated instead of running on", async () => {
      const tight = await connectomeServer({
        limits: { defaultMaxPaths: 1000, hardMaxPaths: 1000, maxSteps: 3 },
      });
      try {
        const res = await call<Found>(
          tight.url,
          "GET",
          findPathsUrl({ dataset: "white_1986_whole", start: "ADLL", end: "RIML", weighted: false }),
        );
        assert.equal(res.status, 200);
        assert.equal(res.body.truncated, true);
      } finally {
        await tight.close();
      }
    });
  });

  describe("bad input", () => {
    const detail = (body: unknown) => body as { detail: string; code: string };
    it("a missing parameter is 400 naming what is required", async () => {
      const res = await get({ dataset: "white_1986_whole", start: "ASHL" });
      assert.equal(res.status, 400);
      assert.match(detail(res.body).detail, /dataset, start, and end query params are required/);
      assert.equal(detail(res.body).code, "invalid_argument");
    });
    it("an unknown dataset is 404 naming it", async () => {
      const res = await get({ dataset: "nope_2020", start: "ASHL", end: "AVAL" });
      assert.equal(res.status, 404);
      assert.match(detail(res.body).detail, /Unknown connectome dataset nope_2020/);
    });
    it("k and maxHops together are refused", async () => {
      const res = await get({ dataset: "white_1986_whole", start: "ASHL", end: "AVAL", k: 3, maxHops: 3 });
      assert.equal(res.status, 400);
      assert.match(detail(res.body).detail, /k and maxHops/);
    });
    it("out-of-range k is refused", async () => {
      const res = await get({ dataset: "white_1986_whole", start: "ASHL", end: "AVAL", k: 0 });
      assert.equal(res.status, 400);
      assert.match(detail(res.body).detail, /k/);
    });
  });
});
