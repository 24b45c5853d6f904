// The C L1s (guests/c/l1/hyp.c, hyp_smp.c) with C and assembly L2s, built with Debian's cross
// compiler and loaded as raw images: the exact console on nvlab in every stage-2 format, under every
// unmap strategy with the checker on, under chaos, on the failure paths (fault outside the window,
// bad HVC, an L2's own exception), on 1-4 vCPUs, and equal to QEMU's.

import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Image } from "../../../asm/image.ts";
import { rawBinary } from "../../../asm/raw_binary.ts";
import { UNMAP_STRATEGIES } from "../../../hypervisor/unmap/registry.ts";
import { chaosMonitor, chaosOf } from "../../../lab/chaos.ts";
import { assembleGuest } from "../../../lab/fixtures/guest_images.ts";
import { qemuCommand, qemuLoaderArgs } from "../../../lab/qemu_command.ts";
import { runVm, type RunVmOptions } from "../../../lab/run.ts";
import { l2Ipa, PAIR_MEMORY_MIB } from "../../qemu/pairs.ts";
import { qemuAvailable } from "../../qemu/qemu.ts";
import { buildCGuests, C_BUILD_DIR, C_L1S, cGuestImage, cGuestsBuildable, type CL1, expectedConsole } from "./c_guests.ts";

const L1_IPA = 0x4010_0000n;
const canBuild = cGuestsBuildable();

describe.skipIf(!canBuild)("C guests: C L1 with a C and an assembly L2", () => {
  /** The assembly L2s the tests use, assembled for windows 1 to 3 ("NAME@n"). */
  const asmL2: Record<string, Image> = {};
  beforeAll(async () => {
    buildCGuests();
    for (const g of ["hello", "wild", "remap", "remap_notlbi"]) {
      for (const n of [1, 2, 3]) asmL2[`${g}@${n}`] = await assembleGuest(`guests/l2/${g}.S`, l2Ipa(n));
    }
  }, 120_000);

  /** hyp_c-style L1 with L2 #n = l2s[n]: "c:NAME" for build/NAME.bin, else an assembly guest of guests/l2. */
  const l2Images = (l2s: string[]): Image[] =>
    l2s.map((g, n) => (g.startsWith("c:") ? cGuestImage(g.slice(2), l2Ipa(n)) : asmL2[`${g}@${n}`]!));
  const vm = (l1: CL1 | "hyp_c_smp", l2s: string[]): RunVmOptions => ({
    l1: cGuestImage(l1, L1_IPA),
    l2: l2Images(l2s).map((image, n) => ({ image, ipa: l2Ipa(n) })),
    check: true,
  });
  const pair = (l1: CL1): RunVmOptions => vm(l1, ["c:hello_c", "hello"]);

  /** The console QEMU prints for the same images (every image written raw at its load address). */
  async function qemuConsole(l1: CL1 | "hyp_c_smp", l2s: string[], vcpus = 1): Promise<{ console: string; status: number | null }> {
    const dir = await mkdtemp(join(tmpdir(), "nvlab-cguests-"));
    try {
      const loaders = qemuLoaderArgs(join(C_BUILD_DIR, `${l1}.bin`), L1_IPA);
      for (const [n, image] of l2Images(l2s).entries()) {
        const raw = rawBinary(image);
        const file = join(dir, `l2-${n}.bin`);
        await writeFile(file, raw.bytes);
        loaders.push(...qemuLoaderArgs(file, raw.base));
      }
      const [program, ...args] = qemuCommand(loaders, L1_IPA, PAIR_MEMORY_MIB, vcpus);
      const q = spawnSync(program!, args, { encoding: "latin1", timeout: 20_000 });
      return { console: q.stdout, status: q.status };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  for (const l1 of C_L1S) {
    it(`${l1}: prints the expected console on nvlab and powers off with 0`, () => {
      const r = runVm(pair(l1));
      expect(r.outcome).toEqual({ kind: "system-off", code: 0 });
      expect(r.console).toBe(expectedConsole(l1));
    });
  }

  for (const unmap of UNMAP_STRATEGIES) {
    it(`hyp_c under the ${unmap} unmap strategy with the checker on`, () => {
      const r = runVm({ ...pair("hyp_c"), config: { unmap } });
      expect(r.outcome).toEqual({ kind: "system-off", code: 0 });
      expect(r.console).toBe(expectedConsole("hyp_c"));
    });
  }

  for (const l1 of ["hyp_c", "hyp_c_2m"] as const) {
    it(`${l1} under chaos (seeded unmaps, store failures, recycles) with the checker on`, () => {
      const r = runVm({ ...pair(l1), monitors: (kvm) => [chaosMonitor(kvm, { seed: 15, rate: 5 })] });
      expect(r.outcome).toEqual({ kind: "system-off", code: 0 });
      // L0's chaos is invisible to the guests: the same console, fault counts included.
      expect(r.console).toBe(expectedConsole(l1));
      expect(chaosOf(r.kvm)!.report().injections).toBeGreaterThan(0);
    });
  }

  it("one C L2 image runs unchanged in either window (linked at the nested IPA, not the canonical one)", () => {
    const r = runVm({
      ...pair("hyp_c"),
      l2: [
        { image: cGuestImage("hello_c", l2Ipa(0)), ipa: l2Ipa(0) },
        { image: cGuestImage("hello_c", l2Ipa(1)), ipa: l2Ipa(1) },
      ],
    });
    expect(r.outcome).toEqual({ kind: "system-off", code: 0 });
    expect(r.console).toContain("L1: remapped L2 #1 leaf 0x40200000 (4 KiB) with TLBI IPAS2E1IS\n");
    expect(r.console).toContain("L1: L2 #1 exited with code 0, stage-2 faults: 29\n");
  });

  /** Failure paths and the shipped assembly L2s under the C L1: the same lines and codes as the assembly L1s. */
  const OTHER_RUNS: { name: string; l2s: string[]; tail: string; code: number }[] = [
    {
      name: "wild.S: a stage-2 fault outside the window ends the machine with 3",
      l2s: ["c:hello_c", "wild"],
      tail:
        "L1: entering L2 #1 (VMID 2)\n" +
        "L2: jumping to nested IPA 0x70000000\n" +
        "L1: L2 #1 stage-2 fault outside its window: IPA=0x70000000 ELR=0x70000000\n" +
        "L1: system off, exit code 3\n",
      code: 3,
    },
    {
      name: "remap.S: the shipped assembly L2 sees the C L1's remap (HVC 3)",
      l2s: ["c:hello_c", "remap"],
      tail:
        "L1: entering L2 #1 (VMID 2)\n" +
        "remap: before 0x0123456789abcdef\n" +
        "L1: remapped L2 #1 leaf 0x40001000 (4 KiB) with TLBI IPAS2E1IS\n" +
        "remap: after  0xfedcba9876543210\n" +
        "L1: L2 #1 exited with code 0, stage-2 faults: 2\n" +
        "L1: system off, exit code 0\n",
      code: 0,
    },
    {
      name: "remap_notlbi.S: HVC 4 is not a C L1 service, a bad HVC ends the machine with 4",
      l2s: ["c:hello_c", "remap_notlbi"],
      tail:
        "L1: entering L2 #1 (VMID 2)\n" +
        "remap: before 0x0123456789abcdef\n" +
        "L1: bad HVC from L2: x0=0x4 x1=0x40001000\n" +
        "L1: system off, exit code 4\n",
      code: 4,
    },
  ];
  const HELLO_C_RUN = expectedConsole("hyp_c").split("L1: entering L2 #1")[0]!;

  for (const run of OTHER_RUNS) {
    it(`hyp_c with ${run.name}`, () => {
      const r = runVm(vm("hyp_c", run.l2s));
      expect(r.outcome).toEqual({ kind: "system-off", code: run.code });
      expect(r.console).toBe(HELLO_C_RUN + run.tail);
    });
  }

  const TRAP_L2S = ["c:trap_c", "hello"];
  const TRAP_CONSOLE =
    "L1: hyp_c: 4K granule, lazy 4K pages, 2 L2s\n" +
    "L1: entering L2 #0 (VMID 1)\n" +
    "C L2: svc #0 at EL1\n" +
    "L2: unexpected exception at EL1, vector +0x200\n" +
    "L1: L2 #0 exited with code 2, stage-2 faults: 3\n" +
    "L1: entering L2 #1 (VMID 2)\n" +
    "hello from L2\n" +
    "L1: L2 #1 exited with code 0, stage-2 faults: 1\n" +
    "L1: system off, exit code 2\n";

  it("a C L2's own exception (svc at EL1) is reported by its crt0 and its exit code 2 becomes the machine's", () => {
    const r = runVm(vm("hyp_c", TRAP_L2S));
    expect(r.outcome).toEqual({ kind: "system-off", code: 2 });
    expect(r.console).toBe(TRAP_CONSOLE);
  });

  /**
   * hyp_c_smp on `vcpus` vCPUs, vCPU n running L2 #n = SMP_L2S[n]. One C L2 only: its line written
   * to the UART directly is the one unbuffered output, which two of them could interleave.
   */
  const SMP_L2S = ["c:hello_c", "hello", "hello", "hello"];
  function expectedSmp(vcpus: number): string {
    const own = expectedConsole("hyp_c").split("\n");
    // L2 #n's run as hyp_c prints it: entry line to exit line, for the C L2 (window 0) or hello.S (window 1).
    const cRun = (n: number): string =>
      own.slice(1, 11).join("\n").replaceAll("L2 #0", `L2 #${n}`).replace("VMID 1", `VMID ${n + 1}`) + "\n";
    const asmRun = (n: number): string =>
      `L1: entering L2 #${n} (VMID ${n + 1})\nhello from L2\nL1: L2 #${n} exited with code 0, stage-2 faults: 1\n`;
    let text = "L1: hyp_c_smp: one L2 per vCPU, 4K granule, lazy 4K pages\n";
    for (let n = 1; n < vcpus; n++) text += `L1: CPU_ON started vCPU ${n} (target 0x${n})\n`;
    text += `L1: vCPUs running: ${vcpus}\n`;
    // The C L2's direct UART line is not buffered: it comes while the L2s run.
    text += "C L2: this line went to the UART directly\n";
    for (let n = 0; n < vcpus; n++) {
      text += `L1: vCPU ${n} (MPIDR 0x8000000${n}) ran L2 #${n} (VMID ${n + 1})\n`;
      text += (n === 0 ? cRun(n) : asmRun(n)).replace("C L2: this line went to the UART directly\n", "");
    }
    return text + "L1: system off, exit code 0\n";
  }

  for (const vcpus of [1, 2, 4]) {
    for (const unmap of UNMAP_STRATEGIES) {
      it(`hyp_c_smp on ${vcpus} vCPUs (PSCI CPU_ON, one L2 each) under ${unmap} with the checker on`, () => {
        const r = runVm({ ...vm("hyp_c_smp", SMP_L2S.slice(0, vcpus)), config: { vcpus, unmap } });
        expect(r.outcome).toEqual({ kind: "system-off", code: 0 });
        expect(r.console).toBe(expectedSmp(vcpus));
      });
    }
  }

  it("hyp_c_smp on 2 vCPUs under chaos with the checker on", () => {
    const r = runVm({
      ...vm("hyp_c_smp", SMP_L2S.slice(0, 2)),
      config: { vcpus: 2 },
      monitors: (kvm) => [chaosMonitor(kvm, { seed: 15, rate: 5 })],
    });
    expect(r.outcome).toEqual({ kind: "system-off", code: 0 });
    expect(r.console).toBe(expectedSmp(2));
    expect(chaosOf(r.kvm)!.report().injections).toBeGreaterThan(0);
  });

  describe.skipIf(!qemuAvailable())("on QEMU (L1 at real EL2)", () => {
    for (const l1 of C_L1S) {
      it(`${l1}: QEMU prints the same console as nvlab`, async () => {
        const q = await qemuConsole(l1, ["c:hello_c", "hello"]);
        expect(q.status).toBe(0);
        expect(q.console).toBe(runVm(pair(l1)).console);
        expect(q.console).toBe(expectedConsole(l1));
      });
    }
    for (const vcpus of [1, 2, 4]) {
      it(`hyp_c_smp on ${vcpus} vCPUs: the same console on QEMU`, async () => {
        const q = await qemuConsole("hyp_c_smp", SMP_L2S.slice(0, vcpus), vcpus);
        expect(q.status).toBe(0);
        expect(q.console).toBe(expectedSmp(vcpus));
      });
    }
    it("trap_c: the same console on QEMU", async () => {
      const q = await qemuConsole("hyp_c", TRAP_L2S);
      expect(q.status).toBe(0);
      expect(q.console).toBe(TRAP_CONSOLE);
    });
    for (const run of OTHER_RUNS) {
      it(`hyp_c with ${run.name}: the same console on QEMU`, async () => {
        const q = await qemuConsole("hyp_c", run.l2s);
        expect(q.status).toBe(0);
        expect(q.console).toBe(HELLO_C_RUN + run.tail);
      });
    }
  });
});
