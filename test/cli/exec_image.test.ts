// `nvlab exec` of ELF executables and raw binaries: the same program as its .S gives the same run.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assembleFile } from "../../asm/assembler.ts";
import { rawBinary } from "../../asm/raw_binary.ts";
import { execExitCode, execProgram } from "../../cli/exec.ts";
import { buildElf, imageElf } from "../helpers/elf_file.ts";
import { nvlab } from "../helpers/bin.ts";

const dir = mkdtempSync(join(tmpdir(), "nvlab-exec-image-"));

function file(name: string, bytes: Uint8Array | string): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

const HELLO = "guests/demo/hello.S";

async function helloElf(base = 0x4010_0000n): Promise<string> {
  return file(`hello_${base.toString(16)}.elf`, imageElf(await assembleFile(HELLO, { base })));
}

describe("nvlab exec of ELF and raw images", () => {
  it("an ELF, a raw binary and the .S give the same console, stop and registers", async () => {
    const image = await assembleFile(HELLO, { base: 0x4010_0000n });
    const fromSource = await execProgram({ file: HELLO, maxSteps: 100_000 });
    const fromElf = await execProgram({ file: await helloElf(), maxSteps: 100_000 });
    const fromRaw = await execProgram({ file: file("hello.bin", rawBinary(image).bytes), maxSteps: 100_000 });
    for (const r of [fromElf, fromRaw]) {
      expect(r.console).toBe("hello from nvlab exec\n");
      expect(r.stop).toEqual(fromSource.stop);
      expect(r.regs).toEqual(fromSource.regs);
      expect(execExitCode(r.stop)).toBe(0);
    }
  });

  it("loads an ELF at its own addresses and enters it at e_entry", async () => {
    const r = await execProgram({ file: await helloElf(0x8_0000n), maxSteps: 100_000 });
    expect(r.console).toBe("hello from nvlab exec\n");
    expect(r.stop.pc).toMatch(/^0x8/);
    // e_entry past a first instruction that would stop at once.
    const entered = buildElf({ entry: 0x4010_0004n, segments: [{ paddr: 0x4010_0000n, bytes: Uint8Array.from([0x20, 0x00, 0x20, 0xd4, 0x00, 0x00, 0x20, 0xd4]) }] });
    const e = await execProgram({ file: file("entry.elf", entered), maxSteps: 10 });
    expect(e.stop).toMatchObject({ kind: "brk", imm: 0, pc: "0x40100004" });
  });

  it("starts .bss zeroed where the file has no bytes", async () => {
    // ldr x0, [x1]; brk #0 with x1 at the .bss part of the segment (memory a previous use might have dirtied).
    const prog = Uint8Array.from([
      0x01, 0x01, 0x00, 0x10, // adr x1, .+0x20
      0x20, 0x00, 0x40, 0xf9, // ldr x0, [x1]
      0x00, 0x00, 0x20, 0xd4, // brk #0
    ]);
    const elf = buildElf({ segments: [{ paddr: 0x4010_0000n, bytes: prog, memsz: 0x40n }] });
    const r = await execProgram({ file: file("bss.elf", elf), maxSteps: 10 });
    expect(r.regs.x1).toBe("0x40100020");
    expect(r.regs.x0).toBe("0x0");
  });

  it("prints JSON with the console, and a trace naming the ELF's symbols", async () => {
    const elf = await helloElf();
    const j = await nvlab("exec", elf, "--json");
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ console: "hello from nvlab exec\n", stop: { kind: "brk", imm: 0 } });
    const t = await nvlab("exec", elf, "--trace", "--max-steps", "3");
    expect(t.stdout).toMatch(/^0x0000000040100000  <start>\s+mov x1, #0$/m);
  });

  it("places a raw binary at --base, and reads any file as raw with --format raw", async () => {
    const image = await assembleFile(HELLO, { base: 0x8_0000n });
    const r = await nvlab("exec", file("hello.img", rawBinary(image).bytes), "--format", "raw", "--base", "0x80000", "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).console).toBe("hello from nvlab exec\n");
  });

  it("refuses --base for an ELF, an unknown --format, and a bad ELF, naming the file", async () => {
    const elf = await helloElf();
    const b = await nvlab("exec", elf, "--base", "0x80000");
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/^nvlab: --base: .*hello_40100000\.elf is an ELF executable, loaded at its segments' physical addresses/m);
    const f = await nvlab("exec", elf, "--format", "coff");
    expect(f.code).toBe(1);
    expect(f.stderr).toMatch(/--format: 'coff' is not one of auto, asm, elf, raw/);
    const x86 = file("x86.elf", buildElf({ machine: 62, segments: [] }));
    const m = await nvlab("exec", x86);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/^nvlab: .*x86\.elf: not an AArch64 ELF \(e_machine 62/m);
  });

  it("refuses an ELF segment over the UART", async () => {
    const elf = file("uart.elf", buildElf({ segments: [{ paddr: 0x0900_0000n, bytes: Uint8Array.from([0, 0, 0x20, 0xd4]) }] }));
    await expect(execProgram({ file: elf, maxSteps: 10 })).rejects.toThrow(/section PT_LOAD\[0\] at 0x9000000\.\.0x9000004 overlaps the PL011/);
  });
});

const GCC = "/usr/bin/aarch64-linux-gnu-gcc";
const hasGcc = existsSync(GCC);
if (!hasGcc) {
  if (process.env.CI === "true") throw new Error(`${GCC} is missing: CI installs gcc-aarch64-linux-gnu (see .ci/run)`);
  console.warn(`warning: ${GCC} not found; skipping the compiled-C exec test (apt-get install gcc-aarch64-linux-gnu)`);
}

describe.runIf(hasGcc)("nvlab exec of a program compiled by the cross toolchain", () => {
  it("runs a freestanding C program linked at 0x40100000: console, brk #0, x0 from the C code", async () => {
    const src = file(
      "prog.c",
      `#define UART ((volatile unsigned char *)0x09000000)
static unsigned long table[16];          /* .bss */
static const char msg[] = "sum ";
static void put(char c) { *UART = (unsigned char)c; }
static void putu(unsigned long v) { char b[20]; int n = 0; do { b[n++] = (char)('0' + v % 10); v /= 10; } while (v); while (n) put(b[--n]); }
unsigned long sum(void) { unsigned long s = 0; for (int i = 0; i < 16; i++) { table[i] += (unsigned long)i * i; s += table[i]; } return s; }
unsigned long c_main(void) {
  for (const char *p = msg; *p; p++) put(*p);
  unsigned long s = sum();
  putu(s); put('\\n');
  return s;
}
/* The entry: a stack, then C; its result in x0 at brk #0, as an assembly program ends. */
__asm__(".globl _start\\n_start:\\n ldr x1, =0x40200000\\n mov sp, x1\\n bl c_main\\n brk #0\\n");
`,
    );
    const out = join(dir, "prog.elf");
    execFileSync(GCC, ["-O2", "-mgeneral-regs-only", "-ffreestanding", "-nostdlib", "-static", "-Wl,-Ttext=0x40100000", "-e", "_start", "-o", out, src]);
    const r = await execProgram({ file: out, maxSteps: 100_000 });
    expect(r.console).toBe("sum 1240\n");
    expect(r.stop).toMatchObject({ kind: "brk", imm: 0 });
    expect(r.regs.x0).toBe("0x4d8"); // 0² + … + 15²
    expect(r.image.symbols.has("sum")).toBe(true);
    // The same code as a raw binary (objcopy -O binary), at the address it was linked at.
    const bin = join(dir, "prog.bin");
    execFileSync(`${GCC.replace(/gcc$/, "objcopy")}`, ["-O", "binary", "-j", ".text", "-j", ".rodata", out, bin]);
    const raw = await execProgram({ file: bin, maxSteps: 100_000 });
    expect(raw.console).toBe("sum 1240\n");
    expect(raw.stop).toEqual({ ...r.stop });
  });
});
