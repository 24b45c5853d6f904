// Chaos mode: injections at exits chosen from a seed. The same seed gives the same run (identical
// event logs); a safe strategy hides every injection from the guests (same console, same exit);
// rfc-rbtree is caught by the checker, which names (S) and ends the run with status 126.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SplitMix32 } from "../../hypervisor/splitmix32.ts";
import { checkerAttached } from "../../lab/check.ts";
import { runCommand, runExitCode, type RunCommandOptions } from "../../cli/run.ts";
import { GUEST_PAIRS, REPO_ROOT } from "../qemu/pairs.ts";

const pair = (name: string) => GUEST_PAIRS.find((p) => p.name === name)!;

function options(name: string, extra: Partial<RunCommandOptions> = {}): RunCommandOptions {
  const p = pair(name);
  return {
    l1: { file: join(REPO_ROOT, p.l1), ipa: null },
    l2: p.l2.map((s) => ({ file: join(REPO_ROOT, s.path), ipa: s.ipa })),
    memory: 256n << 20n,
    vcpus: 1,
    maxSteps: 50_000_000,
    ...extra,
  };
}

async function tracedRun(name: string, extra: Partial<RunCommandOptions>) {
  const events: string[] = [];
  const r = await runCommand(options(name, { ...extra, onEvent: (l) => events.push(l) }));
  return { r, events };
}

describe("splitmix32", () => {
  it("is a pure function of the seed", () => {
    const a = new SplitMix32(42);
    const b = new SplitMix32(42);
    const xs = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(xs);
    expect(new Set(xs).size).toBe(100);
    expect(xs.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)).toBe(true);
    const c = new SplitMix32(43);
    expect(c.next()).not.toBe(xs[0]);
  });
});

describe.concurrent("chaos mode", () => {
  it("same seed, same run: identical event logs; another seed injects elsewhere", async () => {
    const chaos = { seed: 1234, rate: 15 };
    const [a, b, c] = await Promise.all([
      tracedRun("hyp+checksum", { unmap: "revmap", chaos }),
      tracedRun("hyp+checksum", { unmap: "revmap", chaos }),
      tracedRun("hyp+checksum", { unmap: "revmap", chaos: { seed: 99, rate: 15 } }),
    ]);
    expect(a.events.filter((e) => / chaos /.test(e)).length).toBeGreaterThan(10);
    expect(b.events).toEqual(a.events);
    expect(b.r.metrics).toEqual(a.r.metrics);
    expect(c.events.filter((e) => / chaos /.test(e))).not.toEqual(a.events.filter((e) => / chaos /.test(e)));
  });

  for (const name of ["hyp+checksum", "hypblock+checksum", "multi+6", "remap+remap"]) {
    for (const unmap of ["full", "revmap", "accel"] as const) {
      it(`${name}, ${unmap}: the guests cannot tell (same console and exit), invariants hold`, async () => {
        const p = pair(name);
        for (const seed of [1, 2]) {
          const r = await runCommand(options(name, { unmap, chaos: { seed, rate: 10 } }));
          expect(r.outcome, `seed ${seed}`).toEqual({ kind: "system-off", code: p.exitCode });
          expect(r.console).toBe(p.expected);
          const injected = ["injected.unmaps", "injected.recycles", "injected.revmapStoreFailures"].reduce((n, k) => n + ((r.metrics[k] as number | undefined) ?? 0), 0);
          expect(injected).toBeGreaterThan(0);
          expect(checkerAttached(r.kvm)).toBe(true);
        }
      });
    }
  }

  it("rfc-rbtree under chaos: the checker stops the run on (S), exit status 126", async () => {
    for (const seed of [1, 2, 4]) {
      const r = await runCommand(options("hypblock+checksum", { unmap: "rfc-rbtree", chaos: { seed, rate: 10 } }));
      expect(r.outcome.kind, `seed ${seed}`).toBe("monitor-stop");
      if (r.outcome.kind !== "monitor-stop") return;
      expect(r.outcome.verdict).toBe("invariant S");
      expect(r.outcome.message).toMatch(/^invariant S \(safety\) violated/);
      expect(runExitCode(r.outcome)).toBe(126);
    }
  });

  it("--check without chaos attaches the checker and changes nothing", async () => {
    const p = pair("hyp+checksum");
    const r = await runCommand(options("hyp+checksum", { check: true, unmap: "accel" }));
    expect(checkerAttached(r.kvm)).toBe(true);
    expect(r.console).toBe(p.expected);
    expect(r.outcome).toEqual({ kind: "system-off", code: 0 });
  });
});
