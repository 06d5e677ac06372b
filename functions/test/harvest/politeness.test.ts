/**
 * Issue 9 item 7: the harvest client's politeness, on an injected clock (no real time passes and
 * nothing is timed): at most `concurrency` requests in flight per host, starts spaced at least
 * `minIntervalMs` apart, and a streamed download keeps its slot until its body is done.
 */
import assert from "node:assert/strict";

import { PoliteClient, type FetchLike } from "../../src/sources/http.js";

/**
 * A virtual clock: `sleep` registers a timer, and `run` fires timers in time order (moving the
 * clock to each one's instant) whenever the work has nothing else to do.
 */
function virtualClock() {
  let t = 1_000_000;
  const timers: { at: number; resolve: () => void }[] = [];
  return {
    now: () => t,
    sleep: (ms: number) => new Promise<void>((resolve) => timers.push({ at: t + ms, resolve })),
    async run<T>(work: Promise<T>): Promise<T> {
      let done = false;
      work.then(
        () => (done = true),
        () => (done = true),
      );
      for (let i = 0; i < 10_000 && !done; i++) {
        await settle();
        if (done || timers.length === 0) continue;
        timers.sort((a, b) => a.at - b.at);
        const next = timers.shift()!;
        t = Math.max(t, next.at);
        next.resolve();
      }
      return work;
    },
  };
}

const settle = () => new Promise((r) => setImmediate(r));

/** A fetch whose answers the test releases one by one; it records in-flight counts per host. */
function heldFetch(clock: { now(): number }) {
  const inFlight = new Map<string, number>();
  const maxInFlight = new Map<string, number>();
  const starts = new Map<string, number[]>();
  const pending: (() => void)[] = [];
  const fetch: FetchLike = (url) => {
    const host = new URL(url).host;
    inFlight.set(host, (inFlight.get(host) ?? 0) + 1);
    maxInFlight.set(host, Math.max(maxInFlight.get(host) ?? 0, inFlight.get(host)!));
    starts.set(host, [...(starts.get(host) ?? []), clock.now()]);
    return new Promise((resolve) =>
      pending.push(() => {
        inFlight.set(host, inFlight.get(host)! - 1);
        resolve(new Response("{}", { status: 200 }));
      }),
    );
  };
  return { fetch, maxInFlight, starts, pending, inFlight };
}

describe("harvest HTTP client politeness (injected clock)", () => {
  it("never has more than N requests in flight per host, and hosts do not share a cap", async () => {
    const clock = virtualClock();
    const upstream = heldFetch(clock);
    const client = new PoliteClient({
      fetch: upstream.fetch,
      ...clock,
      hosts: {
        "a.test": { concurrency: 2, minIntervalMs: 0 },
        "b.test": { concurrency: 1, minIntervalMs: 0 },
      },
    });
    const calls = [
      ...Array.from({ length: 7 }, (_, i) => client.getJson(`https://a.test/${i}`)),
      ...Array.from({ length: 4 }, (_, i) => client.getJson(`https://b.test/${i}`)),
    ];
    for (let released = 0; released < 11; released++) {
      await settle();
      assert.ok(upstream.pending.length > 0, "work is waiting on an answer, not stuck");
      upstream.pending.shift()!();
    }
    await Promise.all(calls);
    assert.equal(upstream.maxInFlight.get("a.test"), 2);
    assert.equal(upstream.maxInFlight.get("b.test"), 1);
    assert.equal(upstream.starts.get("a.test")!.length, 7);
  });

  it("spaces request starts to one host at least minIntervalMs apart", async () => {
    const clock = virtualClock();
    const starts: number[] = [];
    const client = new PoliteClient({
      fetch: () => {
        starts.push(clock.now());
        return Promise.resolve(new Response("{}", { status: 200 }));
      },
      ...clock,
      hosts: { "slow.test": { concurrency: 3, minIntervalMs: 2000 } },
    });
    await clock.run(
      Promise.all(Array.from({ length: 6 }, (_, i) => client.getJson(`https://slow.test/${i}`))),
    );
    assert.equal(starts.length, 6);
    for (let i = 1; i < starts.length; i++) {
      assert.ok(
        starts[i]! - starts[i - 1]! >= 2000,
        `start ${i} came ${starts[i]! - starts[i - 1]!} ms after`,
      );
    }
  });

  it("retries count against the spacing too", async () => {
    const clock = virtualClock();
    const starts: number[] = [];
    let n = 0;
    const client = new PoliteClient({
      fetch: () => {
        starts.push(clock.now());
        return Promise.resolve(new Response("{}", { status: ++n <= 2 ? 503 : 200 }));
      },
      ...clock,
      random: () => 0,
      hosts: { "x.test": { concurrency: 1, minIntervalMs: 1500, backoffBaseMs: 10, backoffMaxMs: 10 } },
    });
    await clock.run(client.getJson("https://x.test/a"));
    assert.equal(starts.length, 3);
    assert.ok(starts[1]! - starts[0]! >= 1500 && starts[2]! - starts[1]! >= 1500);
  });

  it("a streaming download holds its slot until its body is read, so downloads obey the cap", async () => {
    const clock = virtualClock();
    const bodies: ReadableStreamDefaultController<Uint8Array>[] = [];
    let fetched = 0;
    const client = new PoliteClient({
      fetch: () => {
        fetched++;
        const body = new ReadableStream<Uint8Array>({ start: (c) => void bodies.push(c) });
        return Promise.resolve(new Response(body, { status: 200 }));
      },
      ...clock,
      hosts: { "files.test": { concurrency: 2, minIntervalMs: 0 } },
    });
    const downloads = Array.from({ length: 3 }, (_, i) => client.open(`https://files.test/f${i}.swc`));
    await settle();
    assert.equal(fetched, 2, "the third download waits for a slot");
    const [first] = await Promise.all(downloads.slice(0, 2));
    const reading = first!.text();
    bodies[0]!.enqueue(new TextEncoder().encode("1 1 0 0 0 5 -1\n"));
    await settle();
    assert.equal(fetched, 2, "a body still streaming keeps its slot");
    bodies[0]!.close();
    assert.equal(await reading, "1 1 0 0 0 5 -1\n");
    await settle();
    assert.equal(fetched, 3, "the finished body freed its slot");
    bodies[1]!.close();
    bodies[2]!.close();
    const third = await downloads[2]!;
    assert.equal(await third.text(), "");
  });

  it("refuses a body above the host's size cap, without retrying", async () => {
    let n = 0;
    const client = new PoliteClient({
      fetch: () => {
        n++;
        return Promise.resolve(new Response(JSON.stringify({ big: "x".repeat(5000) }), { status: 200 }));
      },
      hosts: { "big.test": { minIntervalMs: 0, maxBodyBytes: 1000 } },
    });
    await assert.rejects(
      client.getJson("https://big.test/a"),
      /above the 1000-byte cap|more than the 1000-byte cap/,
    );
    assert.equal(n, 1);
  });

  it("open() keeps the size cap: a declared length above it is refused, a longer body errors", async () => {
    const client = new PoliteClient({
      fetch: (url) => {
        const body = "x".repeat(5000);
        // One answer states its length, the other streams without one.
        const headers: Record<string, string> = url.endsWith("/declared") ? { "content-length": "5000" } : {};
        const stream = new ReadableStream<Uint8Array>({
          start(c) {
            for (let i = 0; i < 5; i++)
              c.enqueue(new TextEncoder().encode(body.slice(i * 1000, i * 1000 + 1000)));
            c.close();
          },
        });
        return Promise.resolve(new Response(stream, { status: 200, headers }));
      },
      hosts: { "big.test": { minIntervalMs: 0, maxBodyBytes: 2500, concurrency: 1 } },
    });
    await assert.rejects(client.open("https://big.test/declared"), /5000 bytes, above the 2500-byte cap/);
    const res = await client.open("https://big.test/streamed");
    await assert.rejects(res.text(), /more than the 2500-byte cap/);
    // The slot was given back: the host (concurrency 1) still answers.
    await assert.rejects(client.open("https://big.test/declared"), /above the 2500-byte cap/);
  });
});
