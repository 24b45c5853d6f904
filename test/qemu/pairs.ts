// The shipped L1/L2 guest pairs with their exact console output and exit code. The same list runs
// on QEMU (L1 at real EL2, test/qemu/guests.test.ts) and on nvlab (L1 at virtual EL2): both must
// print exactly `expected`. Paths are relative to the repository root.

import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

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
};

const HELLO = "hello from L2\n";
const touch = (n: number): string => `touch: ${n} pages written and read back, 0 errors\n`;
/** checksum.S's result (test/qemu/guests.test.ts recomputes it independently). */
export const CHECKSUM_VALUE = 0x60d2e6a52eb5701cn;
const CHECKSUM = `checksum: 0x${CHECKSUM_VALUE.toString(16).padStart(16, "0")} over 262144 bytes, 8 passes agree\n`;

const single = (l2: string): GuestImageSpec[] => [{ path: `guests/l2/${l2}.S`, ipa: l2Ipa(0) }];
const MULTI_L2 = ["hello", "touch", "checksum", "hello", "touch", "checksum"];
/** Stage-2 faults of each multi L2 in round 1 (code page, plus 64 data pages for touch/checksum). */
const MULTI_FAULTS = [1, 65, 65, 1, 65, 65];
const MULTI_OUT = [HELLO, touch(64), CHECKSUM, HELLO, touch(64), CHECKSUM];

export const GUEST_PAIRS: GuestPair[] = [
  {
    name: "hyp+hello",
    l1: "guests/l1/hyp.S",
    l2: single("hello"),
    expected: BANNER.hyp + l2Run(0, HELLO, 0, 1) + off(0),
    exitCode: 0,
  },
  {
    name: "hyp+touch",
    l1: "guests/l1/hyp.S",
    l2: single("touch"),
    expected: BANNER.hyp + l2Run(0, touch(64), 0, 65) + off(0),
    exitCode: 0,
  },
  {
    name: "hyp+touch1000",
    l1: "guests/l1/hyp.S",
    l2: single("touch1000"),
    expected: BANNER.hyp + l2Run(0, touch(1000), 0, 1001) + off(0),
    exitCode: 0,
  },
  {
    name: "hyp+checksum",
    l1: "guests/l1/hyp.S",
    l2: single("checksum"),
    expected: BANNER.hyp + l2Run(0, CHECKSUM, 0, 65) + off(0),
    exitCode: 0,
  },
  {
    name: "hyp+uart",
    l1: "guests/l1/hyp.S",
    l2: single("uart"),
    expected: BANNER.hyp + l2Run(0, "L2: hello via the UART\nL2: hello via HVC\n", 0, 2) + off(0),
    exitCode: 0,
  },
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
  {
    name: "hyp64k+hello",
    l1: "guests/l1/hyp64k.S",
    l2: single("hello"),
    expected: BANNER.hyp64k + l2Run(0, HELLO, 0, 1) + off(0),
    exitCode: 0,
  },
  {
    name: "hyp64k+touch",
    l1: "guests/l1/hyp64k.S",
    l2: single("touch"),
    // 64 4K pages from 1 MiB = four 64K pages, plus the code page
    expected: BANNER.hyp64k + l2Run(0, touch(64), 0, 5) + off(0),
    exitCode: 0,
  },
  {
    name: "hyp64k+checksum",
    l1: "guests/l1/hyp64k.S",
    l2: single("checksum"),
    expected: BANNER.hyp64k + l2Run(0, CHECKSUM, 0, 5) + off(0),
    exitCode: 0,
  },
  {
    name: "hypblock+touch",
    l1: "guests/l1/hypblock.S",
    l2: single("touch"),
    // code and touched pages share the first 2M block
    expected: BANNER.hypblock + l2Run(0, touch(64), 0, 1) + off(0),
    exitCode: 0,
  },
  {
    name: "hypblock+touch1000",
    l1: "guests/l1/hypblock.S",
    l2: single("touch1000"),
    // 1 MiB .. 1 MiB + 1000 pages spans the blocks at 0, 2 and 4 MiB
    expected: BANNER.hypblock + l2Run(0, touch(1000), 0, 3) + off(0),
    exitCode: 0,
  },
  {
    name: "hypblock+checksum",
    l1: "guests/l1/hypblock.S",
    l2: single("checksum"),
    expected: BANNER.hypblock + l2Run(0, CHECKSUM, 0, 1) + off(0),
    exitCode: 0,
  },
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
    name: "multi+6",
    l1: "guests/l1/multi.S",
    l2: MULTI_L2.map((g, n) => ({ path: `guests/l2/${g}.S`, ipa: l2Ipa(n) })),
    expected:
      BANNER.multi +
      MULTI_OUT.map((out, n) => l2Run(n, out, 0, MULTI_FAULTS[n])).join("") +
      MULTI_OUT.map((out, n) => l2Run(n, out, 0, 0)).join("") +
      off(0),
    exitCode: 0,
  },
];
