// A real embedded C library's semihosting layer (Debian's picolibc, `--oslib=semihost`) on nvlab
// exec: stdio to the console, the command line into argv, and exit()'s status. Built here with the
// cross compiler; skipped where it or picolibc is not installed.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { execProgram } from "../../cli/exec.ts";

const GCC = "/usr/bin/aarch64-linux-gnu-gcc";
const OBJCOPY = "/usr/bin/aarch64-linux-gnu-objcopy";
const PICOLIBC = "/usr/lib/picolibc/aarch64-linux-gnu/picolibc.specs";
const present = existsSync(GCC) && existsSync(OBJCOPY) && existsSync(PICOLIBC);

const PROGRAM = `#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
  puts("hello, picolibc");
  fputs(argv[argc - 1], stdout);
  putchar('\\n');
  return (int)strlen(argv[argc - 1]);
}
`;

/**
 * Compile and link at exec's default base (code in "flash" at 0x40100000, data copied by crt0 to
 * "RAM" at 0x40200000), then make the raw image (data at its load address) an assembly source of
 * words, which exec can load until it reads binaries itself.
 */
function build(): string {
  const dir = mkdtempSync(join(tmpdir(), "nvlab-picolibc-"));
  const c = join(dir, "hello.c");
  writeFileSync(c, PROGRAM);
  // No FP/SIMD in the CPU model: the program's own code keeps to general registers.
  execFileSync(GCC, [
    "--specs=picolibc.specs", "--oslib=semihost", "--crt0=semihost", "-O2", "-mgeneral-regs-only", "-no-pie", "-static",
    "-Wl,--defsym=__flash=0x40100000", "-Wl,--defsym=__flash_size=0x100000",
    "-Wl,--defsym=__ram=0x40200000", "-Wl,--defsym=__ram_size=0x200000",
    "-o", join(dir, "hello.elf"), c,
  ]);
  execFileSync(OBJCOPY, ["-O", "binary", join(dir, "hello.elf"), join(dir, "hello.bin")]);
  const bin = readFileSync(join(dir, "hello.bin"));
  const words: string[] = [];
  for (let i = 0; i < bin.length; i += 4) {
    const w = Buffer.alloc(4);
    bin.copy(w, 0, i, Math.min(i + 4, bin.length));
    words.push(`.word 0x${w.readUInt32LE(0).toString(16)}`);
  }
  const s = join(dir, "hello.S");
  writeFileSync(s, words.join("\n") + "\n");
  return s;
}

describe.skipIf(!present)("picolibc --oslib=semihost under nvlab exec --semihosting", () => {
  it("prints through SYS_WRITE, reads argv from GET_CMDLINE, exits with main's value", async () => {
    const file = build();
    const r = await execProgram({ file, maxSteps: 5_000_000, semihosting: { root: null, args: "hello" } });
    expect(r.console).toBe("hello, picolibc\nhello\n");
    expect(r.stop.kind).toBe("semihosting-exit");
    expect(r.stop.code).toBe(5);
  }, 60_000);
});
