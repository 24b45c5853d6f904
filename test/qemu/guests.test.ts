// Every shipped L1/L2 pair boots on QEMU (L1 at real EL2) and prints exactly the expected console.

import { execFile, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHECKSUM_VALUE, GUEST_PAIRS, l2Ipa, REPO_ROOT, SLICE_SUMS } from "./pairs.ts";
import { firstSection } from "../asm/image_words.ts";
import { qemuAvailable, qemuCommand, runOnQemu } from "./qemu.ts";

const haveQemu = qemuAvailable();
if (!haveQemu) {
  console.warn("qemu-system-aarch64 not found: SKIPPING the QEMU guest comparison (apt-get install qemu-system-arm)");
}

describe.skipIf(!haveQemu)("guests on QEMU (L1 at real EL2)", () => {
  for (const pair of GUEST_PAIRS) {
    it(`${pair.name} prints the expected console`, async () => {
      const r = await runOnQemu({ l1: pair.l1, l2: pair.l2, timeoutMs: 10_000, vcpus: pair.vcpus });
      expect(r.console).toBe(pair.expected);
      expect(r.exitedCleanly).toBe(true);
    });
  }

  it("smp.S starts at most 4 vCPUs: on an 8-CPU machine CPUs 4-7 stay off", async () => {
    const pair = GUEST_PAIRS.find((p) => p.name === "smp+4")!;
    const r = await runOnQemu({ l1: pair.l1, l2: pair.l2, timeoutMs: 10_000, vcpus: 8 });
    expect(r.console).toBe(pair.expected);
    expect(r.exitedCleanly).toBe(true);
  });

  it("a fatal L2 fault on a secondary ends the machine with its report only", async () => {
    // L2 #1 of smp.S is wild.S: its stage-2 fault outside the window ends the machine from vCPU 1.
    const r = await runOnQemu({
      l1: "guests/l1/smp.S",
      l2: ["hello", "wild"].map((g, n) => ({ path: `guests/l2/${g}.S`, ipa: l2Ipa(n) })),
      timeoutMs: 10_000,
      vcpus: 2,
    });
    // vCPU 0's own run is never printed: the machine ends before the final report.
    expect(r.console).toBe(
      "L1: smp: one L2 per vCPU, 4K granule, lazy 4K pages\n" +
        "L1: CPU_ON started vCPU 1 (target 0x1)\n" +
        "L1: vCPUs running: 2\n" +
        "L1: L2 #1 stage-2 fault outside its window: IPA=0x70000000 ELR=0x70000000\n" +
        "L1: system off, exit code 3\n",
    );
    expect(r.exitedCleanly).toBe(true);
  });

  it("the touch page count can be patched in the image (word at offset 4)", async () => {
    const r = await runOnQemu({
      l1: "guests/l1/hyp.S",
      l2: [{ path: "guests/l2/touch.S", ipa: l2Ipa(0) }],
      timeoutMs: 10_000,
      patch(image, which) {
        if (which !== 0) return;
        const section = firstSection(image);
        const at = Number(image.symbols.get("touch_pages")! - section.base);
        new DataView(section.bytes.buffer, section.bytes.byteOffset).setUint32(at, 7, true);
      },
    });
    expect(r.console).toContain("touch: 7 pages written and read back, 0 errors\n");
    expect(r.console).toContain("L1: L2 #0 exited with code 0, stage-2 faults: 8\n");
  });

  it("remap without TLBI still runs to completion (the value read after it is host-dependent)", async () => {
    const r = await runOnQemu({
      l1: "guests/l1/remap.S",
      l2: [{ path: "guests/l2/remap_notlbi.S", ipa: l2Ipa(0) }],
      timeoutMs: 10_000,
    });
    expect(r.console).toContain("L1: remapped L2 page 0x40001000 (no TLBI)\n");
    expect(r.console).toMatch(/remap: after {2}0x(0123456789abcdef|fedcba9876543210)\n/);
    expect(r.exitedCleanly).toBe(true);
  });

  it("guests/README.md's commands: nvlab build, then the QEMU command line as written, print the pair's console", async () => {
    const readme = readFileSync(join(REPO_ROOT, "guests/README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Booting the guests on QEMU"));
    const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!.replace(/\\\n\s*/g, "");
    const lines = block.trim().split("\n");
    const asm = lines.filter((l) => l.startsWith("nvlab build "));
    const qemu = lines.find((l) => l.startsWith("qemu-system-aarch64 "))!;
    expect(asm).toHaveLength(2);
    const cwd = await mkdtemp(join(tmpdir(), "nvlab-readme-qemu-"));
    try {
      await symlink(join(REPO_ROOT, "guests"), join(cwd, "guests"));
      for (const line of asm) {
        const r = await promisify(execFile)("node", [join(REPO_ROOT, "cli/nvlab.js"), ...line.split(/\s+/).slice(1)], { cwd });
        expect(r.stdout).toMatch(/ bytes for 0x4[08]/);
      }
      const [program, ...args] = qemu.split(/\s+/);
      const r = spawnSync(program!, args, { cwd, encoding: "latin1", timeout: 10_000 });
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(GUEST_PAIRS.find((p) => p.name === "hyp+hello")!.expected);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });

  describe("harness", () => {
    let dir = "";
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "nvlab-qemu-test-"));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("kills a guest that never powers off at the timeout and keeps its output", async () => {
      const l1 = join(dir, "spin.S");
      await writeFile(l1, 'mov32 x1, 0x09000000\nmov w0, #\'!\'\nstrb w0, [x1]\n1: b 1b\n');
      const r = await runOnQemu({ l1, l2: [], timeoutMs: 1500 });
      expect(r.exitedCleanly).toBe(false);
      expect(r.console).toBe("!");
    });

    it("reports an exception in L1 itself (vector +0x200) and exits with 255", async () => {
      // hyp.S, except that HVC function 3 runs an undefined instruction in L1.
      const lib = join(REPO_ROOT, "guests/l1/lib");
      const l1 = join(dir, "faulty.S");
      await writeFile(
        l1,
        [".equ NUM_L2, 1", ".equ ROUNDS, 1", "defs", "main", "s2_4k", "s2_common", "console"]
          .map((f) => (f.startsWith(".") ? f : `.include "${lib}/${f}.S"`))
          .join("\n") +
          '\nhvc_extra: .inst 0x00000000\nbanner_text: .asciz "L1: faulty\\n"\n' +
          `.include "${lib}/vectors.S"\n.include "${lib}/data.S"\n`,
      );
      const r = await runOnQemu({ l1, l2: [{ path: "guests/l2/remap.S", ipa: l2Ipa(0) }], timeoutMs: 10_000 });
      expect(r.console).toMatch(
        /^L1: faulty\nL1: entering L2 #0 \(VMID 1\)\nremap: before 0x0123456789abcdef\nL1: unexpected exception, vector \+0x200 ESR=0x2000000 ELR=0x401[0-9a-f]{5} FAR=0x[0-9a-f]+\nL1: system off, exit code 255\n$/,
      );
      expect(r.exitedCleanly).toBe(true);
    });
  });
});

/** checksum.S's algorithm in TypeScript, so the expected value is not just QEMU's word. */
function checksumModel(seed = 0x243f6a8885a308d3n, bytes = 0x40000): bigint {
  const M = (1n << 64n) - 1n;
  const words: bigint[] = [];
  let x = seed;
  for (let i = 0; i < bytes / 8; i++) {
    x = (x * 6364136223846793005n + 1442695040888963407n) & M;
    words.push(x);
  }
  let sum = 0n;
  for (const w of words) {
    const ror = ((sum >> 59n) | (sum << 5n)) & M;
    sum = (w ^ ror) & M;
    sum = (sum + (w >> 7n)) & M;
  }
  return sum;
}

describe("checksum.S and smp_slices.S references", () => {
  it("the expected checksum matches an independent model of the algorithm", () => {
    expect(checksumModel()).toBe(CHECKSUM_VALUE);
  });

  it("smp_slices.S: vCPU n's sum is the same algorithm over 64 KiB, seeded with checksum.S's seed + n", () => {
    expect(SLICE_SUMS.map((_, n) => checksumModel(0x243f6a8885a308d3n + BigInt(n), 0x10000))).toEqual(SLICE_SUMS);
  });
});

describe("qemuCommand", () => {
  it("gives the machine `-smp N` CPUs (1 by default)", () => {
    const smpOf = (cmd: string[]): string | undefined => cmd[cmd.indexOf("-smp") + 1];
    expect(smpOf(qemuCommand([], 0x4010_0000n, 256))).toBe("1");
    expect(smpOf(qemuCommand([], 0x4010_0000n, 256, 4))).toBe("4");
  });

  it("rejects a CPU count the guests cannot address by Aff0 alone", () => {
    for (const bad of [0, 9, 1.5]) {
      expect(() => qemuCommand([], 0x4010_0000n, 256, bad)).toThrow(`vcpus must be an integer from 1 to 8 (got ${bad})`);
    }
  });
});
