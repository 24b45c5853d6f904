import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { execExitCode, execProgram } from "../../cli/exec.ts";
import { nzcvHex } from "../../cli/format.ts";
import { nvlab } from "../helpers/bin.ts";

const dir = mkdtempSync(join(tmpdir(), "nvlab-exec-"));

function source(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}


describe("nvlab exec", () => {
  it("runs the demo: console output, brk #0 stop, final registers", async () => {
    const r = await execProgram({ file: "guests/demo/hello.S", maxSteps: 100_000 });
    expect(r.console).toBe("hello from nvlab exec\n");
    expect(r.stop.kind).toBe("brk");
    expect(execExitCode(r.stop)).toBe(0);
    expect(r.regs.x0).toBe("0x13ba"); // 5050
    expect(r.regs.pc).toBe(r.stop.pc);
  });

  it("prints the documented JSON shape through the bin", async () => {
    const p = source("json.S", "mov x0, #7\nmovz x1, #0xffff, lsl #16\nbrk #0\n");
    const r = await nvlab("exec", p, "--json", "--base", "0x80000");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.stop.kind).toBe("brk");
    expect(j.regs.x0).toBe("0x7");
    expect(j.regs.x1).toBe("0xffff0000");
    expect(j.regs.pc).toBe("0x80008");
    expect(Object.keys(j.regs)).toHaveLength(34);
    expect(j.steps).toBe(2);
  });

  it("--json prints NZCV as the 32-bit register it is, also with N set (not sign-extended)", async () => {
    const p = source("nzcv.S", "mov x0, #1\ncmp x0, #2\nbrk #0\n");
    const r = await nvlab("exec", p, "--json", "--trace");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { regs: Record<string, string>; trace: string[] };
    expect(j.regs.nzcv).toBe("0x80000000");
    expect(j.trace[1]).toMatch(/cmp\s+x0, #2\s+nzcv=0x80000000$/);
  });

  it("nzcvHex: every flag combination in bits 31:28 of a 32-bit value", () => {
    expect(nzcvHex(0b1000)).toBe("0x80000000");
    expect(nzcvHex(0b1111)).toBe("0xf0000000");
    expect(nzcvHex(0b0110)).toBe("0x60000000");
    expect(nzcvHex(0)).toBe("0x0");
    for (let f = 0; f < 16; f++) expect(BigInt(nzcvHex(f))).toBe(BigInt(f) << 28n);
  });

  it("reports an exception that would go to EL2 with its syndrome", async () => {
    const p = source("hvc.S", "mov x0, #1\nhvc #0x42\n");
    const r = await execProgram({ file: p, maxSteps: 100 });
    expect(r.stop.kind).toBe("exit");
    expect(r.stop.ec).toBe("0x16");
    expect(r.stop.esr).toBe("0x5a000042");
    expect(execExitCode(r.stop)).toBe(3);
  });

  it("stops on the step budget for a program that never ends", async () => {
    const p = source("loop.S", "1: b 1b\n");
    const r = await nvlab("exec", p, "--max-steps", "1000");
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/step budget exhausted after 1000 instructions/);
  });

  it("reports an unhandled EL1 exception (no vectors) instead of running away", async () => {
    const p = source("udf.S", ".inst 0x00000000\n");
    const r = await execProgram({ file: p, maxSteps: 100 });
    expect(r.stop.kind).toBe("el1-exception");
    expect(r.stop.ecName).toBe("UNKNOWN");
  });

  it("traces each instruction with the registers it changed", async () => {
    const p = source("trace.S", "start: mov x0, #5\nadds x1, x0, #0\nbrk #0\n");
    const r = await nvlab("exec", p, "--trace", "--base", "0x1000");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^0x0000000000001000\s+<start>\s+mov\s+x0, #5\s+x0=0x5$/);
    expect(lines[1]).toMatch(/adds\s+x1, x0, #0\s+x1=0x5/);
  });

  it("traces the V registers, FPCR and FPSR an instruction changed", async () => {
    const p = source("trace_fp.S", [
      "start: mov x0, #0x300000", "msr cpacr_el1, x0", "isb", "movi v2.16b, #0x81", "fmov d3, #1.0",
      "mov x1, #0x10", "msr fpsr, x1", "mov x1, #0xc00000", "msr fpcr, x1", "brk #0", "",
    ].join("\n"));
    const r = await nvlab("exec", p, "--trace", "--base", "0x1000");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[3]).toMatch(/movi\s+v2.16b, #0x81\s+v2=0x81818181818181818181818181818181$/);
    expect(lines[4]).toMatch(/fmov\s+d3, #1\.0+\s+v3=0x00000000000000003ff0000000000000$/);
    expect(lines[6]).toMatch(/msr\s+fpsr, x1\s+fpsr=0x00000010$/);
    expect(lines[8]).toMatch(/msr\s+fpcr, x1\s+fpcr=0x00c00000$/);
  });

  it("gives file:line:col for assembly errors and exits 1 without a stack trace", async () => {
    const p = source("bad.S", "mov x0, #1\n  frobnicate x1\n");
    const r = await nvlab("exec", p);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${p}:2:3: error:`);
    expect(r.stderr).toContain("frobnicate x1");
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it("names a directory given as the program, exit 1 without an internal error", async () => {
    const r = await nvlab("exec", dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`nvlab: cannot read ${dir}: is a directory\n`);
    const inc = source("inc.S", `.include "${dir}"\nbrk #0\n`);
    const i = await nvlab("exec", inc);
    expect(i.code).toBe(1);
    expect(i.stderr).toContain(`${inc}:1:10: error: .include: cannot read ${dir}: is a directory`);
  });

  it("refuses a --base that puts the program on the UART or beyond the PA space, naming the section", async () => {
    const uart = await nvlab("exec", "--base", "0x09000000", "guests/demo/hello.S");
    expect(uart.code).toBe(1);
    expect(uart.stderr).toMatch(/^nvlab: image guests\/demo\/hello\.S: section \.text at 0x9000000\.\.0x[0-9a-f]+ overlaps the PL011 UART's registers \(0x9000000\.\.0x9001000\); choose another --base/);
    expect(uart.stderr).not.toMatch(/internal error|no memory/);
    const high = await nvlab("exec", "--base", "0x1000000000000", "guests/demo/hello.S");
    expect(high.code).toBe(1);
    expect(high.stderr).toMatch(/section \.text at 0x1000000000000\.\.0x[0-9a-f]+ lies beyond the 48-bit physical address space/);
    // Just below the UART still runs.
    expect((await nvlab("exec", "--base", "0x08fff000", "guests/demo/hello.S")).code).toBe(0);
  });

  it("explains bad options and missing files", async () => {
    expect((await nvlab("exec", join(dir, "nope.S"))).stderr).toMatch(/cannot open .*nope\.S/);
    const r = await nvlab("exec", "guests/demo/hello.S", "--max-steps", "lots");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--max-steps: 'lots' is not a number/);
  });

  it("refuses a --base that does not fit in 64 bits or is not 4-byte aligned, naming it (it used to wrap and run)", async () => {
    for (const [base, message] of [
      ["0x10000000040100000", /^nvlab: --base: 0x10000000040100000 does not fit in 64 bits/m],
      ["0x80002", /^nvlab: --base: 0x80002 is not a multiple of 0x4/m],
    ] as const) {
      const r = await nvlab("exec", "guests/demo/hello.S", "--base", base);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(message);
    }
  });

  it("has --help on every command", async () => {
    expect((await nvlab("--help")).stdout).toMatch(/exec/);
    const h = await nvlab("exec", "--help");
    expect(h.stdout).toMatch(/--max-steps/);
    expect(h.stdout).toMatch(/Exit status/);
  });
});
