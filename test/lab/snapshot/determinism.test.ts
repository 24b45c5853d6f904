// Determinism, the contract of snapshots: restoring a snapshot taken at step K and running to step N
// gives exactly the state of a plain run at step N — console, registers, memory, L0's state,
// metrics, events. The property runs every shipped L1/L2 pair (the SMP ones on 2 to 4 vCPUs) and
// every shipped scenario, under each unmap strategy, with or without chaos, the invariant checker
// and the random scheduler, for random K < N: VM A runs plainly to N; VM B runs to K1 and takes a
// snapshot, to K2 and takes another (sharing frames with the first), runs on X steps (diverging),
// maybe detours through the other snapshot, restores one of them and runs to N. The vitest projects
// run it under each CPU engine. Half-way through its divergence B is also jolted the way a plain
// run never is (canonical unmaps, recycles, failed stores, splits, coalescings, a deleted memslot,
// dirty logging, a register or a byte of guest memory changed): the restore undoes that too. The
// negative controls show the comparison does see one register, one byte of guest memory, and each
// half of a snapshot. NVLAB_DETERMINISM_RUNS=n draws n times per subject, each under another strategy.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { Image } from "../../../asm/image.ts";
import { formatEvent } from "../../../hypervisor/events.ts";
import { kvmRunVcpus, type VmRunStop } from "../../../hypervisor/scheduler.ts";
import { UNMAP_STRATEGIES, type UnmapStrategyName } from "../../../hypervisor/unmap/registry.ts";
import { SZ_2M, SZ_4K } from "../../../hypervisor/memslot.ts";
import { type Kvm, L1_RAM_BASE } from "../../../hypervisor/vm.ts";
import { chaosMonitor } from "../../../lab/chaos.ts";
import { type ImageFormat, loadImageFile } from "../../../lab/image_file.ts";
import {
  coalesceCanonical,
  deleteMemslot,
  failStores,
  forceRecycle,
  logDirtyPages,
  splitCanonical,
  STORES,
  unmapCanonical,
} from "../../../lab/injection.ts";
import { prepareVm, type RunVmOptions } from "../../../lab/run.ts";
import { prepareParsedScenario, type ScenarioOverrides } from "../../../lab/scenario/run.ts";
import { loadScenario, type Scenario } from "../../../lab/scenario/schema.ts";
import { restoreHeap } from "../../../lab/snapshot/heap.ts";
import { restoreHostFrames } from "../../../lab/snapshot/host_frames.ts";
import { describeVmState, restoreSnapshot, takeSnapshot, type VmSnapshot } from "../../../lab/snapshot/vm_snapshot.ts";
import { assemblePair, GUEST_MEMORY, type PairImages } from "../../e2e/harness.ts";
import { GUEST_PAIRS, REPO_ROOT } from "../../qemu/pairs.ts";

/** Runs longer than this are cut here: N is drawn up to it (multi, smp_rounds+4 run for millions). */
const MAX_N = 1_500_000;
/** Steps B runs past its snapshot before going back (past the run's end, often). */
const MAX_DIVERGE = 60_000;

/** How a subject is run: the VmConfig and monitors the property draws. */
interface Variant {
  strategy: UnmapStrategyName;
  /** Chaos's seed and mean exits between injections, or none. */
  chaos: { seed: number; rate: number } | null;
  /** The random scheduler's mean slice, or null for round-robin. */
  randomQuantum: number | null;
  /** The VM's seed (the random scheduler's stream). */
  seed: number;
  /** The invariant checker (always on for scenarios). */
  check: boolean;
}

const PLAIN: Variant = { strategy: "full", chaos: null, randomQuantum: null, seed: 0, check: false };

/** A shipped pair or scenario: its run options for a variant. */
interface Subject {
  name: string;
  options(v: Variant): Promise<RunVmOptions>;
}

function pairSubject(p: (typeof GUEST_PAIRS)[number]): Subject {
  let images: PairImages | null = null;
  return {
    name: p.name,
    async options(v) {
      images ??= await assemblePair(p.l1, p.l2);
      const chaos = v.chaos;
      return {
        l1: images.l1,
        l2: images.l2,
        check: v.check,
        config: {
          memory: GUEST_MEMORY,
          vcpus: p.vcpus ?? 1,
          unmap: v.strategy,
          seed: v.seed,
          ...(v.randomQuantum === null ? {} : { schedule: { policy: "random", quantum: v.randomQuantum } }),
        },
        ...(chaos ? { monitors: (kvm: Kvm) => [chaosMonitor(kvm, chaos)] } : {}),
      };
    },
  };
}

function scenarioSubject(file: string): Subject {
  let scenario: Scenario | null = null;
  const images = new Map<string, Promise<Image>>();
  // Each image is read or assembled once, as the default assembler of prepareParsedScenario would.
  const assemble = (path: string, base: bigint, own?: boolean, format?: ImageFormat, entered?: boolean): Promise<Image> => {
    const key = `${path}@${base}:${own}:${format}:${entered}`;
    let image = images.get(key);
    if (!image) {
      image = loadImageFile(path, { ...(own ? {} : { at: base }), ...(format === undefined ? {} : { format }), defaultBase: base, ...(entered === undefined ? {} : { entered }) });
      images.set(key, image);
    }
    return image;
  };
  return {
    name: file.replace(/^.*\//, ""),
    async options(v) {
      scenario ??= await loadScenario(file);
      const overrides: ScenarioOverrides = {
        unmap: v.strategy,
        seed: v.seed,
        ...(v.chaos ? { chaos: v.chaos } : {}),
        ...(v.randomQuantum === null ? {} : { schedule: { policy: "random", quantum: v.randomQuantum } }),
      };
      return (await prepareParsedScenario(scenario, file, overrides, assemble)).vm;
    },
  };
}

const SCENARIO_DIR = join(REPO_ROOT, "scenarios");
const SUBJECTS: Subject[] = [
  ...GUEST_PAIRS.map(pairSubject),
  ...readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => scenarioSubject(join(SCENARIO_DIR, f))),
];

/** The VM's state as describeVmState gives it. */
function stateLines(kvm: Kvm): string[] {
  const out: string[] = [];
  describeVmState(kvm, (l) => out.push(l));
  return out;
}

/** null when equal; else the first differing lines (cut short), not the whole dump. */
function firstDifference(plain: readonly string[], restored: readonly string[], show = 6): string | null {
  const cut = (s: string | undefined): string => (s === undefined ? "(none)" : s.length > 240 ? `${s.slice(0, 240)}…` : s);
  const out: string[] = [];
  const n = Math.max(plain.length, restored.length);
  for (let i = 0; i < n && out.length < 3 * show; i++) {
    if (plain[i] === restored[i]) continue;
    out.push(`line ${i}:`, `  plain:    ${cut(plain[i])}`, `  restored: ${cut(restored[i])}`);
  }
  if (out.length === 0) return null;
  return `${plain.length} lines plain, ${restored.length} restored; first differences:\n${out.join("\n")}`;
}

/** What a user sees of a run, compared on its own besides the whole state. */
function observable(kvm: Kvm, stop: VmRunStop) {
  return {
    steps: kvm.steps,
    stop: `${stop.result.kind} on vCPU ${stop.vcpu.index}`,
    console: kvm.console,
    metrics: kvm.metrics.snapshot(),
    eventsTotal: kvm.events.total,
    events: kvm.events.recent().map(formatEvent),
  };
}

/** Run until `steps` in all (or the run ends first). */
function runTo(kvm: Kvm, steps: number): VmRunStop {
  return kvmRunVcpus(kvm, steps - kvm.steps);
}

/** Run on `n` steps, diverging from the plain run: how it ends (a guest error, an L0 failure after the end) does not matter. */
function diverge(kvm: Kvm, n: number): void {
  try {
    kvmRunVcpus(kvm, n);
  } catch {
    // The restore must undo a run cut short by an exception too.
  }
}

/**
 * What the host or a debugger may do to B after a snapshot, beyond running on: changes of a shape a
 * plain run never makes, which the restore must undo as well.
 */
const JOLTS = ["unmap-page", "unmap-2m", "recycle", "fail-stores", "split", "coalesce", "delete-memslot", "dirty-log", "register", "guest-byte"] as const;

interface Jolt {
  kind: (typeof JOLTS)[number];
  /** Where in L1's RAM, as a fraction of it. */
  at: number;
  /** Which vCPU, register, store, count. */
  n: number;
}

function jolt(kvm: Kvm, j: Jolt): void {
  const page = L1_RAM_BASE + (BigInt(Math.floor(j.at * Number(kvm.config.memory >> 12n))) << 12n);
  const region = page & ~(SZ_2M - 1n);
  const cpu = kvm.vcpus[j.n % kvm.vcpus.length]!.cpu;
  try {
    switch (j.kind) {
      case "unmap-page":
        unmapCanonical(kvm, page, SZ_4K);
        break;
      case "unmap-2m":
        unmapCanonical(kvm, region, SZ_2M);
        break;
      case "recycle":
        forceRecycle(kvm, "any-valid");
        break;
      case "fail-stores":
        failStores(kvm, STORES[j.n % STORES.length]!, 1 + (j.n % 4));
        break;
      case "split":
        splitCanonical(kvm, region);
        break;
      case "coalesce":
        coalesceCanonical(kvm, region);
        break;
      case "delete-memslot":
        deleteMemslot(kvm, page);
        break;
      case "dirty-log":
        logDirtyPages(kvm, page, true);
        break;
      case "register":
        cpu.setX(j.n % 31, cpu.getX(j.n % 31) ^ 0x5a5an);
        break;
      case "guest-byte": {
        const pa = kvm.memslots.find((m) => m.contains(page))?.hostPa(page) ?? null;
        if (pa !== null) kvm.mem.writeBytes(pa + (j.n % 4096), Uint8Array.of(j.n & 0xff));
        break;
      }
    }
  } catch {
    // Refused (no block to split, nothing there): whatever it left, the restore must undo.
  }
}

/** Fractions drawn evenly (fast-check's bias would put nearly every K at 0 and N at 1). */
const fraction = fc.noBias(fc.integer({ min: 0, max: 999_999 })).map((n) => n / 1_000_000);

interface Draw {
  variant: Variant;
  /** N as a share of the run's length, K1 as a share of N, K2 as a share of the way from K1 to N. */
  n: number;
  k1: number;
  k2: number;
  /** Steps B runs past the second snapshot, and on the detour. */
  x: number;
  y: number;
  /** Which snapshot B goes back to (0: the first, 1: the second), and whether it first visits the other. */
  target: 0 | 1;
  detour: boolean;
  /** Done to B half-way through its divergence. */
  jolts: Jolt[];
}

function drawArb(strategy: UnmapStrategyName, scenario: boolean): fc.Arbitrary<Draw> {
  const variant = fc.record({
    strategy: fc.constant(strategy),
    chaos: fc.option(fc.record({ seed: fc.nat(1 << 20), rate: fc.integer({ min: 3, max: 60 }) }), { freq: 2 }),
    randomQuantum: fc.option(fc.integer({ min: 20, max: 3000 }), { freq: 2 }),
    seed: fc.nat(1 << 20),
    check: scenario ? fc.constant(true) : fc.boolean(),
  });
  return fc.record({
    variant,
    n: fraction,
    k1: fraction,
    k2: fraction,
    x: fc.noBias(fc.integer({ min: 1, max: MAX_DIVERGE })),
    y: fc.noBias(fc.integer({ min: 1, max: MAX_DIVERGE })),
    target: fc.constantFrom<0 | 1>(0, 1),
    detour: fc.boolean(),
    jolts: fc.array(fc.record({ kind: fc.constantFrom(...JOLTS), at: fraction, n: fc.nat(1 << 16) }), { maxLength: 4 }),
  });
}

/** Each subject's plain length (under PLAIN, cut at MAX_N): N is drawn up to it. */
const lengths = new Map<string, number>();

async function lengthOf(s: Subject): Promise<number> {
  let n = lengths.get(s.name);
  if (n === undefined) {
    const { kvm } = prepareVm(await s.options(PLAIN));
    runTo(kvm, MAX_N);
    n = kvm.steps;
    lengths.set(s.name, n);
  }
  return n;
}

/** One draw: plain A against snapshotted-and-restored B at the same step. */
async function checkDraw(s: Subject, d: Draw): Promise<void> {
  const opts = await s.options(d.variant);
  const length = await lengthOf(s);
  const a = prepareVm(opts).kvm;
  const target = Math.max(1, Math.round(d.n * length));
  const stopA = runTo(a, target);
  // The variant's run may end sooner (chaos, another strategy): the snapshots are taken before A's end.
  const n = a.steps;
  expect(n).toBeGreaterThan(0);
  const k1 = Math.floor(d.k1 * n);
  const k2 = k1 + Math.floor(d.k2 * (n - k1));
  const b = prepareVm(opts).kvm;
  expect(runTo(b, k1).result.kind).toBe("budget");
  const snaps: VmSnapshot[] = [takeSnapshot(b)];
  expect(runTo(b, k2).result.kind).toBe("budget");
  snaps.push(takeSnapshot(b, snaps[0]));
  diverge(b, d.x >> 1);
  for (const j of d.jolts) jolt(b, j);
  diverge(b, d.x - (d.x >> 1));
  if (d.detour) {
    restoreSnapshot(b, snaps[1 - d.target]!);
    diverge(b, d.y);
  }
  const back = snaps[d.target]!;
  restoreSnapshot(b, back);
  expect(b.steps).toBe(back.steps);
  // The same budget as A's: a run that ends at A's last step by an exit (a monitor stop) ends so here too.
  const stopB = runTo(b, target);
  expect(observable(b, stopB)).toEqual(observable(a, stopA));
  expect(firstDifference(stateLines(a), stateLines(b))).toBeNull();
}

/**
 * Draws per subject (NVLAB_DETERMINISM_RUNS asks for more): draw r of subject i runs under strategy
 * i + r (+ 2 under the JIT), so that each project covers every strategy and the two projects
 * together run every subject under two of them.
 */
const RUNS = Number(process.env.NVLAB_DETERMINISM_RUNS ?? 1);
const STRATEGY_SHIFT = process.env.NVLAB_ENGINE === "jit" ? 2 : 0;

/** fast-check's seed for draw r of subject i (spread out: neighbouring seeds draw alike). */
const seedOf = (i: number, r: number): number => Math.imul(0x5eed + 64 * i + r, 0x9e3779b1) >>> 0;

describe("determinism: a restored run equals a plain one", () => {
  beforeAll(async () => {
    // Assemble every subject first, so that the tests' time is the runs'.
    for (const s of SUBJECTS) await s.options(PLAIN);
  }, 120_000);

  for (const [i, s] of SUBJECTS.entries()) {
    for (let r = 0; r < RUNS; r++) {
      const strategy = UNMAP_STRATEGIES[(i + r + STRATEGY_SHIFT) % UNMAP_STRATEGIES.length]!;
      it(`${s.name}, ${strategy}${RUNS > 1 ? ` (${r})` : ""}`, async () => {
        await fc.assert(
          fc.asyncProperty(drawArb(strategy, s.name.endsWith(".yaml")), (d) => checkDraw(s, d)),
          { seed: seedOf(i, r), numRuns: 1, endOnFailure: true },
        );
      });
    }
  }
});

describe("determinism: the comparison sees a difference; what snapshots cost", () => {
  const touch = SUBJECTS.find((s) => s.name === "hyp+touch")!;
  const variant: Variant = { ...PLAIN, strategy: "revmap", check: true };
  const N = 12_000;
  const K = 5_000;

  /** B restored from K after a divergence and run to N, against a plain A at N; `restore` does the going back. */
  async function pairAt(restore: (b: Kvm, snap: VmSnapshot) => void): Promise<{ a: Kvm; b: Kvm }> {
    const opts = await touch.options(variant);
    const a = prepareVm(opts).kvm;
    runTo(a, N);
    const b = prepareVm(opts).kvm;
    runTo(b, K);
    const snap = takeSnapshot(b);
    runTo(b, N + 3_000);
    restore(b, snap);
    runTo(b, N);
    return { a, b };
  }

  it("a faithful restore compares equal (the control's baseline)", async () => {
    const { a, b } = await pairAt(restoreSnapshot);
    expect(firstDifference(stateLines(a), stateLines(b))).toBeNull();
  });

  it("one register bit flipped after the restore is a difference", async () => {
    const { a, b } = await pairAt(restoreSnapshot);
    const cpu = b.vcpus[0]!.cpu;
    cpu.setX(9, cpu.getX(9) ^ 1n);
    expect(firstDifference(stateLines(a), stateLines(b))).toMatch(/frame/);
  });

  it("one byte of guest memory changed after the restore is a difference", async () => {
    const { a, b } = await pairAt(restoreSnapshot);
    const ipa = 0x4010_0000n;
    const pa = b.memslots.find((m) => m.contains(ipa))!.hostPa(ipa)!;
    b.mem.writeBytes(pa, Uint8Array.of(b.mem.readBytes(pa, 1)[0]! ^ 0x80));
    expect(firstDifference(stateLines(a), stateLines(b))).toMatch(/frame/);
  });

  it("restoring host memory alone is a difference (the objects went on)", async () => {
    const { a, b } = await pairAt((kvm, snap) => restoreHostFrames(kvm.mem.hostU8, snap.frames, kvm.mem.usedHostBytes));
    expect(firstDifference(stateLines(a), stateLines(b))).not.toBeNull();
  });

  it("restoring the objects alone is a difference (host memory went on)", async () => {
    const { a, b } = await pairAt((_kvm, snap) => restoreHeap(snap.heap));
    expect(firstDifference(stateLines(a), stateLines(b))).not.toBeNull();
  });

  it("a snapshot costs what changed since the one before: nothing right after it", async () => {
    const kvm = prepareVm(await touch.options(variant)).kvm;
    runTo(kvm, N);
    const first = takeSnapshot(kvm);
    const again = takeSnapshot(kvm, first);
    expect(again.bytes).toBe(0);
    runTo(kvm, N + 1_000);
    const later = takeSnapshot(kvm, again);
    expect(later.frames.ownBytes).toBeGreaterThan(0);
    expect(later.bytes).toBeLessThan(first.bytes / 8);
  });

  it("says where, in a few lines", () => {
    const plain = ["same", "x = 1", "same", "y = 2"];
    expect(firstDifference(plain, plain)).toBeNull();
    const msg = firstDifference(plain, ["same", "x = 3", "same", "y = 2", "extra"])!;
    expect(msg.split("\n")).toEqual([
      "4 lines plain, 5 restored; first differences:",
      "line 1:",
      "  plain:    x = 1",
      "  restored: x = 3",
      "line 4:",
      "  plain:    (none)",
      "  restored: extra",
    ]);
  });
});
