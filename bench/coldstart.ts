/**
 * Cold start: what each deployed function imports before it can answer its first request, each
 * measured in a fresh Node process on the built functions (functions/lib, rebuilt first).
 *
 * A process sets FUNCTION_TARGET as Cloud Functions does, imports lib/index.js and, for an HTTP
 * function, waits for its API group's modules (index.ts loads them lazily, and at once for the
 * function this instance serves). The scheduled and storage-triggered functions load their
 * services on their first event, so their cold import is index.ts alone ("trigger" row).
 *
 * The reference is the old cost every function paid: index.ts plus every API group. Figures are
 * medians over `--reps` processes, interleaved; wall time moves with the machine's load, CPU time
 * (user + system) much less.
 *
 *   npx tsx bench/coldstart.ts [--reps 2] [--no-build]
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";

const ROOT = path.resolve(import.meta.dirname, "..");
const INDEX = pathToFileURL(path.join(ROOT, "functions", "lib", "index.js")).href;

interface Sample {
  wallMs: number;
  cpuMs: number;
  rssMiB: number;
}

/** The child: import index.js, then the group(s) named by the argument ("*" = all, "" = none). */
const CHILD = `
const target = process.argv[1];
const c0 = process.cpuUsage(); const t0 = performance.now();
const index = await import(${JSON.stringify(INDEX)});
const loaders = Object.entries(index).filter(([, f]) => typeof f?.loadGroup === "function");
for (const [name, fn] of loaders) if (target === "*" || name === target) await fn.loadGroup();
const cpu = process.cpuUsage(c0);
process.stdout.write(JSON.stringify({
  wallMs: performance.now() - t0,
  cpuMs: (cpu.user + cpu.system) / 1000,
  rssMiB: process.memoryUsage().rss / 2 ** 20,
  http: loaders.map(([n]) => n),
}));
`;

function sample(target: string): Sample & { http: string[] } {
  const run = spawnSync(process.execPath, ["--input-type=module", "-e", CHILD, target], {
    encoding: "utf8",
    env: {
      ...process.env,
      FUNCTION_TARGET: target === "*" ? "" : target,
      METADATA_SERVER_DETECTION: "none",
      GCLOUD_PROJECT: "demo-neurofire",
    },
  });
  if (run.status !== 0) throw new Error(`cold import of ${target} failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Sample & { http: string[] };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const round = (x: number, digits = 0) => Number(x.toFixed(digits));

export function runColdstartBench(
  options: { reps?: number | undefined; build?: boolean } = {},
): Record<string, Record<string, number>> {
  const reps = options.reps ?? 2;
  if (options.build !== false) {
    const build = spawnSync("npm", ["run", "-s", "build"], { cwd: ROOT, stdio: "inherit" });
    if (build.status !== 0) throw new Error("npm run build failed");
  }
  const http = sample("").http;
  // "trigger": index.ts alone, as a scheduled or storage function loads it.
  const targets = ["*", "trigger", ...http];
  const samples = new Map<string, Sample[]>(targets.map((t) => [t, []]));
  for (let r = 0; r < reps; r++) {
    for (const target of targets) samples.get(target)!.push(sample(target === "trigger" ? "" : target));
  }
  const summary = (target: string) => {
    const s = samples.get(target)!;
    return {
      wallMs: median(s.map((x) => x.wallMs)),
      cpuMs: median(s.map((x) => x.cpuMs)),
      rssMiB: median(s.map((x) => x.rssMiB)),
    };
  };
  const all = summary("*");
  const rows: Record<string, Record<string, number>> = {};
  for (const target of targets) {
    const { wallMs, cpuMs, rssMiB } = summary(target);
    rows[target === "*" ? "(every group: the old cost)" : target] = {
      cold_import_ms: round(wallMs),
      cpu_ms: round(cpuMs),
      rss_mib: round(rssMiB),
      cpu_vs_every_group: round(cpuMs / all.cpuMs, 2),
      rss_vs_every_group: round(rssMiB / all.rssMiB, 2),
    };
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf("--reps");
  const started = performance.now();
  const rows = runColdstartBench({
    reps: i > 0 ? Number(process.argv[i + 1]) : undefined,
    build: !process.argv.includes("--no-build"),
  });
  console.table(rows);
  console.log(`coldstart bench took ${round((performance.now() - started) / 1000, 1)} s`);
}
