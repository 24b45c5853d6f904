// What a VM snapshot costs on the shipped pairs: hello (a small run), touch1000 (1000 pages written,
// 1000 shadow faults), smp with 4 vCPUs. For each, at a quarter, half and three quarters of the run:
// the size of a first snapshot and of one taken a twentieth of the run later (sharing its unchanged
// frames and objects), the time to take that one, and the time to restore it after running on
// another twentieth. Times are medians of several tries. `npx tsx bench/snapshot.ts` (not part of `npm run bench`).

import { kvmRunVcpus } from "../hypervisor/scheduler.ts";
import { L1_DEFAULT_LOAD_IPA } from "../hypervisor/vm.ts";
import { assembleGuest } from "../lab/fixtures/guest_images.ts";
import { prepareVm, type RunVmOptions } from "../lab/run.ts";
import { restoreSnapshot, takeSnapshot, type VmSnapshot } from "../lab/snapshot/vm_snapshot.ts";

const TRIES = 5;
/** Steps between the first snapshot and the one that shares with it, and run before each restore, as a share of the run. */
const GAP = 1 / 20;

interface Pair {
  name: string;
  l1: string;
  l2: string[];
  vcpus: number;
}

const PAIRS: Pair[] = [
  { name: "hyp+hello", l1: "hyp", l2: ["hello"], vcpus: 1 },
  { name: "hyp+touch1000", l1: "hyp", l2: ["touch1000"], vcpus: 1 },
  { name: "smp+4", l1: "smp", l2: ["hello", "touch", "checksum", "touch"], vcpus: 4 },
];

/** L2 #n's canonical IPA (guests/README.md). */
const l2Ipa = (n: number): bigint => 0x4800_0000n + BigInt(n) * 0x100_0000n;

async function options(p: Pair): Promise<RunVmOptions> {
  const l1 = await assembleGuest(`guests/l1/${p.l1}.S`, L1_DEFAULT_LOAD_IPA);
  const l2 = await Promise.all(p.l2.map(async (g, n) => ({ image: await assembleGuest(`guests/l2/${g}.S`, l2Ipa(n)), ipa: l2Ipa(n) })));
  return { l1, l2, config: { memory: 256n << 20n, vcpus: p.vcpus } };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timed<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const r = fn();
  return [r, performance.now() - t0];
}

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;

interface Row {
  pair: string;
  first: VmSnapshot;
  next: VmSnapshot;
  takeMs: number;
  restoreMs: number;
}

/** The snapshot costs of `opts` at `step` of a run `length` long, on a VM of its own. */
function measureAt(name: string, opts: RunVmOptions, step: number, length: number): Row {
  const gap = Math.max(1, Math.floor(GAP * length));
  const { kvm } = prepareVm(opts);
  kvmRunVcpus(kvm, step);
  const first = takeSnapshot(kvm);
  kvmRunVcpus(kvm, gap);
  const takes: number[] = [];
  let next = first;
  for (let i = 0; i < TRIES; i++) {
    const [s, ms] = timed(() => takeSnapshot(kvm, first));
    next = s;
    takes.push(ms);
  }
  const restores: number[] = [];
  for (let i = 0; i < TRIES; i++) {
    kvmRunVcpus(kvm, gap);
    restores.push(timed(() => restoreSnapshot(kvm, next))[1]);
  }
  return { pair: name, first, next, takeMs: median(takes), restoreMs: median(restores) };
}

function print(rows: Row[]): void {
  const head = ["pair", "step", "objects", "first snapshot", "heap", "frames", "next step", "next (shares)", "take ms", "restore ms"];
  const cells = rows.map((r) => [
    r.pair,
    String(r.first.steps),
    String(r.first.heap.saved.size),
    kib(r.first.bytes),
    kib(r.first.heap.bytes),
    kib(r.first.frames.ownBytes),
    String(r.next.steps),
    kib(r.next.bytes),
    r.takeMs.toFixed(1),
    r.restoreMs.toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join("  ");
  console.log(line(head));
  for (const c of cells) console.log(line(c));
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const p of PAIRS) {
    const opts = await options(p);
    const { kvm } = prepareVm(opts);
    kvmRunVcpus(kvm, 50_000_000);
    const length = kvm.steps;
    process.stderr.write(`${p.name}: ${length} steps\n`);
    for (const f of [0.25, 0.5, 0.75]) rows.push(measureAt(p.name, opts, Math.floor(f * length), length));
  }
  print(rows);
}

await main();
