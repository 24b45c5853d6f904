// The shipped L1/L2 guest pairs with their exact console output and exit code. The same list runs
// on QEMU (L1 at real EL2, test/qemu/guests.test.ts) and on nvlab (L1 at virtual EL2): both must
// print exactly `expected`. Paths are relative to the repository root.

import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { itemAt } from "../../emulator/item_at.ts";
import { hex } from "../../emulator/types.ts";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Guest RAM every pair needs (0x4000_0000 up; the last multi L2 window ends at 0x4e00_0000). */
export const PAIR_MEMORY_MIB = 256;

/** Canonical IPA of L2 #n (guests/README.md). */
export function l2Ipa(n: number): bigint {
  return 0x4800_0000n + BigInt(n) * 0x100_0000n;
}

export interface GuestImageSpec {
  path: string;
  ipa: bigint;
}

export interface GuestPair {
  name: string;
  l1: string;
  l2: GuestImageSpec[];
  /** The whole console output. */
  expected: string;
  /** The exit code L1 passes to PSCI SYSTEM_OFF (x1). */
  exitCode: number;
  /** CPUs of the machine (QEMU `-smp`, nvlab `vcpus`); absent means 1. */
  vcpus?: number;
}

/** One L2 run as L1 reports it: entry line, L2's own output, exit line. */
function l2Run(n: number, output: string, code: number, faults: number): string {
  return (
    `L1: entering L2 #${n} (VMID ${n + 1})\n` +
    output +
    `L1: L2 #${n} exited with code ${code}, stage-2 faults: ${faults}\n`
  );
}

function off(code: number): string {
  return `L1: system off, exit code ${code}\n`;
}

const BANNER = {
  hyp: "L1: hyp: 4K granule, lazy 4K pages\n",
  hyp64k: "L1: hyp64k: 64K granule, lazy 64K pages\n",
  hypblock: "L1: hypblock: 4K granule, lazy 2M blocks\n",
  multi: "L1: multi: 6 L2s, 2 rounds, 4K granule, lazy 4K pages\n",
  remap: "L1: remap: 4K granule, lazy 4K pages, remap service\n",
  blockmove: "L1: blockmove: 4K granule, lazy 2M blocks, block move service\n",
  smp: "L1: smp: one L2 per vCPU, 4K granule, lazy 4K pages\n",
  smpShared: "L1: smp_shared: one L2 on every vCPU, 4K granule, lazy 4K pages\n",
  smpRounds: "L1: smp_rounds: one L2 per vCPU, 3 rounds, a VMID per round, 4K granule, lazy 4K pages\n",
  hypfp: "L1: hypfp: 4K granule, lazy 4K pages, lazy FP/SIMD switching (CPTR_EL2.TFP)\n",
};

const HELLO = "hello from L2\n";
const touch = (n: number): string => `touch: ${n} pages written and read back, 0 errors\n`;
/** checksum.S's result (test/qemu/guests.test.ts recomputes it independently). */
export const CHECKSUM_VALUE = 0x60d2e6a52eb5701cn;
const CHECKSUM = `checksum: ${hex(CHECKSUM_VALUE, 16)} over 262144 bytes, 8 passes agree\n`;

const single = (l2: string): GuestImageSpec[] => [{ path: `guests/l2/${l2}.S`, ipa: l2Ipa(0) }];
const MULTI_L2 = ["hello", "touch", "checksum", "hello", "touch", "checksum"];
/** Stage-2 faults of each multi L2 in round 1 (code page, plus 64 data pages for touch/checksum). */
const MULTI_FAULTS = [1, 65, 65, 1, 65, 65];
const MULTI_OUT = [HELLO, touch(64), CHECKSUM, HELLO, touch(64), CHECKSUM];

/** blockmove.S's marker in the first word of page `page` of canonical block A or B. */
const blockRead = (page: number, block: "A" | "B"): string =>
  `blockmove: page ${page} reads 0x${block === "A" ? "aaaaaaaa" : "bbbbbbbb"}${page.toString(16).padStart(8, "0")}: block ${block}\n`;

/**
 * blockmove.S: L1 moves L2's 2M block (nested 0x4020_0000) from canonical block A to B, with a
 * TLBI RIPAS2E1IS over only its pages 2 and 3. The TLBI takes the whole block's translation, so
 * every page read after the move, outside the range first, is B's.
 */
export const BLOCKMOVE_OUTPUT =
  "L1: markers written: block A 0x48200000, block B 0x42000000, 512 pages each\n" +
  "blockmove: before the move\n" +
  [5, 2, 511].map((p) => blockRead(p, "A")).join("") +
  "L1: moved L2 block 0x40200000 to 0x42000000 (break-before-make, TLBI RIPAS2E1IS 0x40202000 +8K, TLBI VMALLE1IS)\n" +
  "blockmove: after the move\n" +
  [5, 511, 2, 3].map((p) => blockRead(p, "B")).join("") +
  "blockmove: PASS: before the move block A, after it block B\n";

/** The SMP L1s' start-up lines: CPU_ON for vCPUs 1 .. vcpus-1 (target MPIDR = Aff0 = n), the count. */
function smpStart(vcpus: number): string {
  let out = "";
  for (let n = 1; n < vcpus; n++) out += `L1: CPU_ON started vCPU ${n} (target 0x${n.toString(16)})\n`;
  return out + `L1: vCPUs running: ${vcpus}\n`;
}

/**
 * One vCPU's run as the SMP L1s report it; `faults` is absent for smp_shared (timing-dependent).
 * Run `round` (smp_rounds.S) has VMID l2 + 1 + 4 × round.
 */
function smpRun(vcpu: number, l2: number, output: string, code: number, faults?: number, round = 0): string {
  return (
    `L1: vCPU ${vcpu} (MPIDR 0x${(0x8000_0000 + vcpu).toString(16)}) ran L2 #${l2} (VMID ${l2 + 1 + 4 * round})\n` +
    output +
    `L1: L2 #${l2} exited with code ${code}` +
    (faults === undefined ? "" : `, stage-2 faults: ${faults}`) +
    "\n"
  );
}

/** smp.S: vCPU n runs L2 #n; only the first `vcpus` of these run. */
const SMP_L2 = ["hello", "touch", "checksum", "touch"];
const SMP_OUT = [HELLO, touch(64), CHECKSUM, touch(64)];
const SMP_FAULTS = [1, 65, 65, 65];

/** smp_slices.S's checksum of vCPU n's slice (test/qemu/guests.test.ts recomputes them). */
export const SLICE_SUMS = [0xaf798ac4c6926358n, 0x0ee88b871709815dn, 0x2b48193db92a7cb9n, 0x0062f9676c627949n];
const slice = (n: number): string => `slices: vCPU ${n}: ${hex(SLICE_SUMS[n]!, 16)}\n`;

function smpPair(vcpus: number): GuestPair {
  return {
    name: `smp+${vcpus}`,
    l1: "guests/l1/smp.S",
    l2: SMP_L2.map((g, n) => ({ path: `guests/l2/${g}.S`, ipa: l2Ipa(n) })),
    expected:
      BANNER.smp +
      smpStart(vcpus) +
      SMP_OUT.slice(0, vcpus).map((out, n) => smpRun(n, n, out, 0, SMP_FAULTS[n])).join("") +
      off(0),
    exitCode: 0,
    vcpus,
  };
}

/** smp_rounds.S: L2 runs per vCPU, each with a new VMID (so 4 vCPUs use 12 VMIDs). */
export const SMP_ROUNDS = 3;

/** smp_rounds.S: as smp.S, each vCPU's L2 run SMP_ROUNDS times; L1's tables fault only in round 0. */
function smpRoundsPair(vcpus: number): GuestPair {
  let runs = "";
  for (let n = 0; n < vcpus; n++) {
    for (let round = 0; round < SMP_ROUNDS; round++) runs += smpRun(n, n, SMP_OUT[n]!, 0, round === 0 ? SMP_FAULTS[n] : 0, round);
  }
  return {
    name: `smp_rounds+${vcpus}`,
    l1: "guests/l1/smp_rounds.S",
    l2: SMP_L2.map((g, n) => ({ path: `guests/l2/${g}.S`, ipa: l2Ipa(n) })),
    expected: BANNER.smpRounds + smpStart(vcpus) + runs + off(0),
    exitCode: 0,
    vcpus,
  };
}

function smpSharedPair(vcpus: number): GuestPair {
  const runs = Array.from({ length: vcpus }, (_, n) => smpRun(n, 0, slice(n), 0)).join("");
  return {
    name: `smp_shared+${vcpus}`,
    l1: "guests/l1/smp_shared.S",
    l2: single("smp_slices"),
    // the code page plus 16 slice pages per vCPU
    expected: BANNER.smpShared + smpStart(vcpus) + runs + `L1: shared stage-2 (VMID 1): ${1 + 16 * vcpus} pages mapped\n` + off(0),
    exitCode: 0,
    vcpus,
  };
}

/** L2 `l2` once under the lazy-mapping L1 `l1`: L1 reports `faults` stage-2 faults, exit 0. */
function lazyPair(l1: "hyp" | "hyp64k" | "hypblock", l2: string, output: string, faults: number): GuestPair {
  return { name: `${l1}+${l2}`, l1: `guests/l1/${l1}.S`, l2: single(l2), expected: BANNER[l1] + l2Run(0, output, 0, faults) + off(0), exitCode: 0 };
}

/** ESR_EL2 of a trapped SIMD&FP instruction from AArch64: EC 0x07, IL, CV = 1, COND = 0b1110. */
const FP_TRAP_ESR = 0x1fe0_0000n;

/**
 * hypfp.S + fp.S: round r (1-4), L2's d0 = 2^(r-1) and v2 = its pattern + r × 0x22 per 32-bit lane;
 * then L1's FP turn r: d8 = 1 + r/4, v10 = its pattern + r × 0x11 per lane, and r lazy traps of L2's
 * first SIMD&FP use (one at the start, one after each of L1's turns but the last).
 */
function fpRounds(): string {
  let out = "";
  for (let r = 1; r <= 4; r++) {
    const d0 = 0x3ff0_0000_0000_0000n + (BigInt(r - 1) << 52n);
    const lanes = (hiLane: bigint, loLane: bigint, add: bigint): bigint => ((hiLane + add) << 32n) | (loLane + add);
    const v2hi = lanes(0x3000_0000n, 0x4000_0000n, BigInt(r) * 0x22n);
    const v2lo = lanes(0x1000_0000n, 0x2000_0000n, BigInt(r) * 0x22n);
    const d8 = 0x3ff0_0000_0000_0000n + BigInt(r) * 0x4_0000_0000_0000n;
    const v10hi = lanes(0xfedc_ba98n, 0x7654_3210n, BigInt(r) * 0x11n);
    const v10lo = lanes(0x0123_4567n, 0x89ab_cdefn, BigInt(r) * 0x11n);
    out +=
      `L2: round ${r}: d0=${hex(d0, 16)} v2=${hex(v2hi, 16)}:${hex(v2lo, 16)}\n` +
      `L1: FP turn ${r}: d8=0x${d8.toString(16)} v10=0x${v10hi.toString(16)}:0x${v10lo.toString(16)}, ` +
      `L2 FP traps: ${r}, last ESR_EL2 0x${FP_TRAP_ESR.toString(16)}\n`;
  }
  return out;
}

export const GUEST_PAIRS: GuestPair[] = [
  lazyPair("hyp", "hello", HELLO, 1),
  lazyPair("hyp", "touch", touch(64), 65),
  lazyPair("hyp", "touch1000", touch(1000), 1001),
  lazyPair("hyp", "checksum", CHECKSUM, 65),
  lazyPair("hyp", "uart", "L2: hello via the UART\nL2: hello via HVC\n", 2),
  {
    name: "hyp+wild",
    l1: "guests/l1/hyp.S",
    l2: single("wild"),
    expected:
      BANNER.hyp +
      "L1: entering L2 #0 (VMID 1)\n" +
      "L2: jumping to nested IPA 0x70000000\n" +
      "L1: L2 #0 stage-2 fault outside its window: IPA=0x70000000 ELR=0x70000000\n" +
      off(3),
    exitCode: 3,
  },
  lazyPair("hyp64k", "hello", HELLO, 1),
  // 64 4K pages from 1 MiB = four 64K pages, plus the code page
  lazyPair("hyp64k", "touch", touch(64), 5),
  lazyPair("hyp64k", "checksum", CHECKSUM, 5),
  // code and touched pages share the first 2M block
  lazyPair("hypblock", "touch", touch(64), 1),
  // 1 MiB .. 1 MiB + 1000 pages spans the blocks at 0, 2 and 4 MiB
  lazyPair("hypblock", "touch1000", touch(1000), 3),
  lazyPair("hypblock", "checksum", CHECKSUM, 1),
  {
    name: "remap+remap",
    l1: "guests/l1/remap.S",
    l2: single("remap"),
    expected:
      BANNER.remap +
      l2Run(
        0,
        "remap: before 0x0123456789abcdef\n" +
          "L1: remapped L2 page 0x40001000 (TLBI IPAS2E1IS)\n" +
          "remap: after  0xfedcba9876543210\n",
        0,
        2,
      ) +
      off(0),
    exitCode: 0,
  },
  {
    name: "blockmove+blockmove",
    l1: "guests/l1/blockmove.S",
    l2: single("blockmove"),
    // the code block and the data block; the moved block needs no fault: L1 writes it valid
    expected: BANNER.blockmove + l2Run(0, BLOCKMOVE_OUTPUT, 0, 2) + off(0),
    exitCode: 0,
  },
  {
    name: "multi+6",
    l1: "guests/l1/multi.S",
    l2: MULTI_L2.map((g, n) => ({ path: `guests/l2/${g}.S`, ipa: l2Ipa(n) })),
    expected:
      BANNER.multi +
      MULTI_OUT.map((out, n) => l2Run(n, out, 0, itemAt(MULTI_FAULTS, n, "fault count"))).join("") +
      MULTI_OUT.map((out, n) => l2Run(n, out, 0, 0)).join("") +
      off(0),
    exitCode: 0,
  },
  // One image for 1..4 vCPUs: L1 starts secondaries until CPU_ON says INVALID_PARAMETERS.
  smpPair(1),
  smpPair(2),
  smpPair(4),
  smpSharedPair(1),
  smpSharedPair(3),
  smpSharedPair(4),
  // 4 vCPUs × 3 rounds = 12 VMIDs over 8 shadow MMUs (2 × vCPUs): recycling under contention.
  smpRoundsPair(2),
  smpRoundsPair(4),
  // L1 traps L2's SIMD&FP use lazily (CPTR_EL2.TFP) and switches the registers itself.
  { name: "hypfp+fp", l1: "guests/l1/hypfp.S", l2: single("fp"), expected: BANNER.hypfp + l2Run(0, fpRounds(), 0, 1) + off(0), exitCode: 0 },
];
