// Bad inputs end in a clear report while the process lives: broken L1s and L2s (guests/bad/), a
// guest that never exits, images that do not fit, bad options, an exhausted host page pool. Each
// case runs through runVm and, for several, through the real `nvlab` bin.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { assembleFile } from "../../asm/assembler.ts";
import { runExitCode } from "../../cli/run.ts";
import { HostError } from "../../hypervisor/errors.ts";
import { type RunVmResult, runVm } from "../../lab/run.ts";
import type { VmConfig } from "../../hypervisor/vm.ts";
import { nvlab as bin } from "../helpers/bin.ts";

const L1_IPA = 0x4010_0000n;
const L2_IPA = 0x4800_0000n;

async function boot(
  l1: string,
  l2: string[] = [],
  opts: { maxSteps?: number; config?: Partial<VmConfig> } = {},
): Promise<RunVmResult> {
  const images = [];
  for (const [i, path] of l2.entries()) {
    const ipa = L2_IPA + BigInt(i) * 0x100_0000n;
    images.push({ image: await assembleFile(path, { base: ipa }), ipa });
  }
  return runVm({
    l1: await assembleFile(l1, { base: L1_IPA }),
    l2: images,
    maxSteps: opts.maxSteps ?? 2_000_000,
    config: opts.config,
  });
}


/** `nvlab run ARGS`. */
const nvlab = (...args: string[]) => bin("run", ...args);

/** A stack trace line, which no user-facing report may contain. */
const STACK = /^\s+at .+\(.*:\d+:\d+\)$/m;

function events(r: RunVmResult): string[] {
  return r.kvm.events.recent(1000).map((e) => `${e.kind} ${e.detail}`);
}

function systemOff(r: RunVmResult): number {
  expect(r.outcome.kind).toBe("system-off");
  return r.outcome.kind === "system-off" ? r.outcome.code : -1;
}

function guestError(r: RunVmResult) {
  if (r.outcome.kind !== "guest-error") throw new Error(`expected a guest error, got ${JSON.stringify(r.outcome.kind)}`);
  return r.outcome;
}

function budget(r: RunVmResult) {
  if (r.outcome.kind !== "budget") throw new Error(`expected the step budget, got ${JSON.stringify(r.outcome.kind)}`);
  return r.outcome;
}

const HELLO = "guests/l2/hello.S";
/** What the L1s of guests/bad/lib/l1_4k.S print for a stage-2 fault other than a translation fault. */
const s2Bad = (esr: string): string => `L1: unexpected stage-2 fault from L2: ESR=${esr} HPFAR=0x400000\n`;

describe("an L1 stage-2 the walker rejects: L1 gets the fault, L0 is fine", () => {
  for (const [file, why] of [
    ["guests/bad/vtcr_t0sz10.S", "VTCR_EL2.T0SZ=10: input size 54 bits outside 25..48"],
    ["guests/bad/vtcr_sl0.S", "VTCR_EL2.SL0=2: start level 0 with a 4K granule and a 39-bit IPA"],
  ] as const) {
    it(`${file}: Address size fault, level 0 (FSC 0) injected into L1`, async () => {
      const r = await boot(file, [HELLO]);
      // L1 received the fault and reported it itself, as its ABI says (exit 5).
      expect(r.console).toContain(s2Bad("0x82000000"));
      expect(systemOff(r)).toBe(5);
      expect(runExitCode(r.outcome)).toBe(5);
      // L0 walked, refused, injected; it mapped nothing and reports no error of its own.
      expect(r.metrics.l1S2Walks).toBe(1);
      expect(r.metrics.faultsInjectedToL1).toBe(1);
      expect(events(r)).toContainEqual(expect.stringContaining(`FSC 0x0 ESR 0x82000000 (walker error: ${why})`));
      for (const mmu of r.kvm.nestedMmus) expect(mmu.pgt.leafCount).toBe(0);
    });
  }
});

describe("broken L1 stage-2 tables: the walk terminates and L1 gets the architectural fault", () => {
  it("a root whose entries point back at the root: Access flag fault, level 3 (levels are bounded)", async () => {
    const r = await boot("guests/bad/s2_loop.S", [HELLO]);
    expect(r.console).toContain(s2Bad("0x8200000b"));
    expect(systemOff(r)).toBe(5);
    expect(r.metrics.faultsInjectedToL1).toBe(1);
    expect(r.steps).toBeLessThan(10_000);
  });

  it("a table descriptor to an address inside PS but outside L1 RAM: Address size fault, level 0", async () => {
    const r = await boot("guests/bad/s2_outside.S", [HELLO]);
    expect(r.console).toContain(s2Bad("0x82000000"));
    expect(systemOff(r)).toBe(5);
    expect(events(r)).toContainEqual(expect.stringContaining("walker error: descriptor outside L1 memory"));
  });

  it("a table descriptor beyond VTCR_EL2.PS: Address size fault, level 1", async () => {
    const r = await boot("guests/bad/s2_oas.S", [HELLO]);
    expect(r.console).toContain(s2Bad("0x82000001"));
    expect(systemOff(r)).toBe(5);
    expect(events(r)).toContainEqual(expect.stringContaining("FSC 0x1 ESR 0x82000001"));
  });
});

describe("ERET from vEL2 to an illegal mode", () => {
  // kvm_check_illegal_exception_return: the mode stays EL2h and PSTATE.IL is set, so the first
  // instruction at the return address takes an Illegal Execution state exception (EC 0x0e) to
  // vEL2's own vectors (+0x200, current EL with SP_ELx), with SPSR.IL set.
  for (const file of ["guests/bad/eret_el3.S", "guests/bad/eret_aarch32.S"]) {
    it(`${file}: L1 takes EC 0x0e at VBAR_EL2+0x200 with ELR = the return address`, async () => {
      const image = await assembleFile(file, { base: L1_IPA });
      const target = image.symbols.get("eret_target")!;
      const r = await boot(file);
      expect(r.console).toContain(`L1: caught vector +0x200 ESR=0x3a000000 ELR=0x${target.toString(16)} SPSR=0x1003c9 FAR=0x0\n`);
      expect(r.console).not.toContain("ERET returned normally");
      expect(systemOff(r)).toBe(255);
      expect(events(r)).toContainEqual(expect.stringMatching(/^eret vEL2 -> EL2h \(illegal return, PSTATE\.IL\)/));
    });
  }
});

describe("L2 outside what L1 maps", () => {
  it("an L2 jumping to an unmapped nested IPA: L1's stage-2 fault handler reports it (exit 3)", async () => {
    const r = await boot("guests/l1/hyp.S", ["guests/l2/wild.S"]);
    expect(r.console).toContain("L1: L2 #0 stage-2 fault outside its window: IPA=0x70000000 ELR=0x70000000\n");
    expect(systemOff(r)).toBe(3);
  });

  it("an L2 access that L1 maps to a canonical IPA outside RAM and devices: a guest error at L2", async () => {
    const r = await boot("guests/bad/s2_beyond_ram.S", ["guests/bad/l2_beyond_ram.S"]);
    const o = guestError(r);
    expect(o.stage).toBe("run");
    expect(runExitCode(o)).toBe(125);
    expect(o.report.level).toBe("L2");
    expect(o.report.reason).toBe(
      "read access to canonical IPA 0x58000010 (nested IPA 0x18000010, VA 0x18000010) outside RAM and devices",
    );
    expect(o.report.exit).toMatchObject({ ec: "0x24 (DABT_LOW)", far: "0x18000010", elr: "0x40000010" });
    expect(o.report.regs).toMatchObject({ pc: "0x0000000040000010", x2: "0x0000000018000010" });
    expect(o.report.events!.at(-1)).toMatch(/exit +DABT_LOW from L2 .*far=0x18000010/);
    expect(o.message).toMatch(/^\[L2 on vCPU 0\] read access to canonical IPA 0x58000010/);
  });

  it("through the bin: exit 125, the report names level, addresses, registers and events", async () => {
    const r = await nvlab("--l1", "guests/bad/s2_beyond_ram.S", "--l2", "guests/bad/l2_beyond_ram.S@0x48000000");
    expect(r.code).toBe(125);
    expect(r.stdout).toContain("L2: loading from nested IPA 0x18000010\n");
    expect(r.stdout).toMatch(/^exit: guest error: read access to canonical IPA 0x58000010 \(nested IPA 0x18000010/m);
    expect(r.stdout).toMatch(/^ {2}running: L2 on vCPU 0$/m);
    expect(r.stdout).toMatch(/ec=0x24 \(DABT_LOW\)/);
    expect(r.stdout).toMatch(/pc 0x0000000040000010/);
    expect(r.stdout).toMatch(/^ {2}last events:$/m);
    expect(r.stdout + r.stderr).not.toMatch(STACK);
  });
});

describe("a guest that never exits", () => {
  it("L1 spinning: budget outcome at L1 and its PC, all steps used", async () => {
    const r = await boot("guests/bad/spin.S", [], { maxSteps: 10_000 });
    const o = budget(r);
    expect(r.steps).toBe(10_000);
    expect(runExitCode(o)).toBe(124);
    expect(o.level).toBe("L1");
    expect(o.pc).toBe(L1_IPA + 4n);
    expect(o.report.reason).toBe("step budget exhausted while L1 runs at pc 0x40100004");
    expect(o.report.regs!.pc).toBe("0x0000000040100004");
  });

  it("L2 spinning under hyp.S: budget outcome at L2 and its PC (nested VA)", async () => {
    const r = await boot("guests/l1/hyp.S", ["guests/bad/l2_spin.S"], { maxSteps: 50_000 });
    const o = budget(r);
    expect(o.level).toBe("L2");
    expect(o.pc).toBe(0x4000_0004n);
    expect(o.report.reason).toBe("step budget exhausted while L2 runs at pc 0x40000004");
    expect(o.report.events!.some((e) => /eret +vEL2 -> L2 EL1h/.test(e))).toBe(true);
  });

  it("through the bin: exit 124, where it was spinning, the budget line unchanged", async () => {
    const r = await nvlab("--l1", "guests/l1/hyp.S", "--l2", "guests/bad/l2_spin.S@0x48000000", "--max-steps", "50000");
    expect(r.code).toBe(124);
    expect(r.stdout).toMatch(/^exit: step budget exhausted after 50000 instructions \(raise --max-steps\?\)$/m);
    expect(r.stdout).toMatch(/^ {2}step budget exhausted while L2 runs at pc 0x40000004$/m);
    expect(r.stdout).toMatch(/^ {2}running: L2 on vCPU 0$/m);
    expect(r.stdout).toMatch(/^metrics:$/m);
  });

  it("through the bin with --json: the exit carries kind, level and pc", async () => {
    const r = await nvlab("--l1", "guests/bad/spin.S", "--max-steps", "1000", "--json");
    expect(r.code).toBe(124);
    const j = JSON.parse(r.stdout) as { exit: { kind: string; level: string; pc: string; steps: number } };
    expect(j.exit).toMatchObject({ kind: "budget", level: "L1", pc: "0x40100004", steps: 1000 });
  });
});

describe("an exception without a vector table", () => {
  // The rule (hypervisor/diagnose.ts): an instruction fetch at the first instruction of a vector
  // entry of the running guest's table (VBAR_EL2 for L1) that is not RAM is reported as the
  // exception being taken, with its syndrome; a vector table of zeros is named when the budget
  // runs out on one of its entries.
  it("VBAR_EL2 = 0 and an UNDEFINED instruction: a guest error naming the EC and the missing vectors", async () => {
    const r = await boot("guests/bad/novbar.S");
    const o = guestError(r);
    expect(runExitCode(o)).toBe(125);
    expect(o.report.level).toBe("L1");
    expect(o.report.reason).toBe(
      "L1 took an exception with no vector table installed (ESR_EL2 0x2000000 (EC 0x0 UNKNOWN), ELR_EL2 0x40100000, " +
        "FAR_EL2 0x0): VBAR_EL2=0x0, and its vector VBAR_EL2+0x200 = 0x200 (canonical IPA 0x200) is not RAM",
    );
    // The exit L0 handled is the fetch of the vector.
    expect(o.report.exit).toMatchObject({ ec: "0x20 (IABT_LOW)", far: "0x200" });
    expect(r.steps).toBeLessThan(10);
  });

  it("through the bin: exit 125 and the same report", async () => {
    const r = await nvlab("--l1", "guests/bad/novbar.S");
    expect(r.code).toBe(125);
    expect(r.stdout).toMatch(/^exit: guest error: L1 took an exception with no vector table installed \(ESR_EL2 0x2000000 \(EC 0x0 UNKNOWN\)/m);
    expect(r.stdout + r.stderr).not.toMatch(STACK);
  });

  it("VBAR_EL2 on zeroed RAM: the budget report says L1 keeps re-taking the exception at its vector", async () => {
    const r = await boot("guests/bad/zerovbar.S", [], { maxSteps: 20_000 });
    const o = budget(r);
    expect(o.level).toBe("L1");
    expect(o.pc).toBe(0x4000_0200n);
    expect(o.report.reason).toMatch(
      /^step budget exhausted while L1 runs at pc 0x40000200: L1 keeps re-taking an exception at VBAR_EL2\+0x200, whose instruction is 0x00000000 \(UDF\), so the vector table holds no code \(last: ESR_EL2 0x2000000 \(EC 0x0 UNKNOWN\), ELR_EL2 0x40000200/,
    );
  });
});

describe("images and options that cannot run", () => {
  it("runVm: an L1 image beyond the end of RAM is a load-stage guest error (exit 1 in the CLI)", async () => {
    const r = await boot("guests/l1/hyp.S", [], { config: { memory: 1n << 20n } });
    const o = guestError(r);
    expect(o.stage).toBe("load");
    expect(runExitCode(o)).toBe(1);
    expect(o.report.reason).toMatch(/^image .*guests\/l1\/hyp\.S: section \.text at 0x40100000\.\.0x[0-9a-f]+ lies outside L1 RAM \(0x40000000\.\.0x40100000\)$/);
    expect(r.steps).toBe(0);
  });

  const usage: [string, string[], RegExp][] = [
    ["an L1 that does not fit in --memory", ["--l1", "guests/l1/hyp.S", "--memory", "1M"], /^nvlab: image guests\/l1\/hyp\.S: section \.text at 0x40100000\.\.0x[0-9a-f]+ lies outside L1 RAM \(0x40000000\.\.0x40100000\)$/m],
    ["an --l2 window beyond the end of RAM", ["--l1", "guests/l1/hyp.S", "--memory", "128M", "--l2", `${HELLO}@0x48000000`], /^nvlab: image guests\/l2\/hello\.S: section \.text at 0x48000000\.\.0x[0-9a-f]+ lies outside L1 RAM \(0x40000000\.\.0x48000000\)$/m],
    ["an --l1 address outside RAM", ["--l1", "guests/l1/hyp.S@0x1000"], /lies outside L1 RAM/],
    ["an --l1 address past 64 bits (it used to wrap and run)", ["--l1", "guests/l1/hyp.S@0x10000000040100000"], /^nvlab: --l1 load address: 0x10000000040100000 does not fit in 64 bits/m],
    ["an --l2 address past 64 bits", ["--l1", "guests/l1/hyp.S", "--l2", `${HELLO}@0x10000000048000000`], /^nvlab: --l2 load address: 0x10000000048000000 does not fit in 64 bits/m],
    ["an unaligned --l1 address", ["--l1", "guests/l1/hyp.S@0x40100002"], /^nvlab: --l1 load address: 0x40100002 is not a multiple of 0x4 \(an image starts with an instruction/m],
    ["--vcpus above KVM's 512 (MPIDRs used to alias from 256 up)", ["--l1", "guests/l1/hyp.S", "--vcpus", "513"], /^nvlab: --vcpus: 513 is out of range: a VM has 1 to 512 vCPUs \(KVM_MAX_VCPUS on arm64, also QEMU virt's limit\)$/m],
    ["a missing file", ["--l1", "guests/bad/no_such_file.S"], /^nvlab: cannot open guests\/bad\/no_such_file\.S: no such file$/m],
    ["a directory", ["--l1", "guests/bad"], /^nvlab: cannot read guests\/bad: is a directory$/m],
    ["--memory not a number", ["--l1", "guests/l1/hyp.S", "--memory", "lots"], /^nvlab: --memory: 'lots' is not a number/m],
    ["--memory not a multiple of 4K", ["--l1", "guests/l1/hyp.S", "--memory", "4097"], /^nvlab: --memory: 4097 is not a positive multiple of 4 KiB$/m],
    ["--memory 0", ["--l1", "guests/l1/hyp.S", "--memory", "0"], /^nvlab: --memory: 0 is not a positive multiple of 4 KiB$/m],
    ["--memory too large", ["--l1", "guests/l1/hyp.S", "--memory", "100000G"], /^nvlab: --memory: 100000G is more than the 64G nvlab supports$/m],
  ];
  for (const [what, args, message] of usage) {
    it(`${what}: exit 1, one clear line, no stack trace`, async () => {
      const r = await nvlab(...args);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(STACK);
      expect(r.stderr).not.toMatch(/internal error/);
    });
  }
});

describe("host resource exhaustion", () => {
  it("a pool too small to build the VM: HostError from runVm", async () => {
    await expect(boot("guests/l1/hyp.S", [], { config: { poolPages: 1 } })).rejects.toThrow(HostError);
  });

  it("a pool exhausted by L1's first fault: HostError with a report of where L1 was", async () => {
    let error: unknown;
    try {
      await boot("guests/l1/hyp.S", [HELLO], { config: { poolPages: 3 } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HostError);
    const e = error as HostError;
    expect(e.message).toBe("host page pool exhausted: all 3 pages (12 KiB) in use");
    expect(e.report).toMatchObject({ level: "L1", exit: { ec: "0x20 (IABT_LOW)", far: "0x40100000" } });
    expect(e.report!.regs!.pc).toBe("0x0000000040100000");
  });

  it("a pool exhausted while L2 touches pages: the report names L2", async () => {
    const e = await boot("guests/l1/hyp.S", ["guests/l2/touch1000.S"], { config: { poolPages: 200 } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HostError);
    expect((e as HostError).message).toBe("host page pool exhausted: all 200 pages (800 KiB) in use");
    expect((e as HostError).report?.level).toBe("L2");
    // The process lives on: the same guests run to completion with the default pool.
    const ok = await boot("guests/l1/hyp.S", ["guests/l2/touch1000.S"]);
    expect(systemOff(ok)).toBe(0);
  });

  it("through the bin: a host error line, where the guest was, exit 70, no stack trace", async () => {
    const r = await nvlab("--l1", "guests/l1/hyp.S", "--l2", `${HELLO}@0x48000000`, "--pool-pages", "3");
    expect(r.code).toBe(70);
    expect(r.stderr).toMatch(/^nvlab: host error: host page pool exhausted: all 3 pages \(12 KiB\) in use$/m);
    expect(r.stderr).toMatch(/^ {2}running: L1 on vCPU 0$/m);
    expect(r.stderr).toMatch(/raise --pool-pages\?/);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stderr).not.toMatch(/internal error/);
  });

  it("through the bin, a scenario's host error points at vm.poolPages, which the command line cannot set", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nvlab-pool-"));
    const file = join(dir, "pool.yaml");
    writeFileSync(
      file,
      `name: pool\nimages:\n  l1: {file: ${resolve("guests/l1/hyp.S")}}\n  l2:\n    - {file: ${resolve(HELLO)}, ipa: 0x48000000}\nvm: {poolPages: 3}\nexpect: {invariants: hold}\n`,
    );
    const r = await bin("run", file);
    expect(r.code).toBe(70);
    expect(r.stderr).toMatch(/^nvlab: host error: host page pool exhausted: all 3 pages \(12 KiB\) in use$/m);
    expect(r.stderr).toMatch(/raise vm\.poolPages in the scenario\?/);
    expect(r.stderr).not.toMatch(/--pool-pages/);
  });
});
