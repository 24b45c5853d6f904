// The runtime of the bare programs (guests/c/rt/crt0_bare.S, malloc.c, console_uart.c, ld/bare.ld)
// on a small C program of its own: malloc's alignment, reuse of the last block, exhaustion, calloc's
// overflow check, and how the program ends (brk #0 or brk #1 with main's value in x0).

import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CROSS_GCC } from "../../bench/cpu_programs.ts";
import { execExitCode, execProgram } from "../../cli/exec.ts";
import { crossCompilerForTests } from "./programs_required.ts";

const haveCross = crossCompilerForTests("the bare runtime tests");

const PROGRAM = `#include <stdint.h>
#include "stdlib.h"
#include "printf.h"
extern char __heap_start[], __heap_end[];
int main(void)
{
	char *a = malloc(1), *b = malloc(100);
	printf("aligned %d %d\\n", (int)((uintptr_t)a & 15), (int)((uintptr_t)b & 15));
	free(b);
	char *c = malloc(50);
	printf("last block reused %d\\n", c == b);
	free(a);
	char *d = malloc(8);
	printf("inner block kept %d\\n", d != a);
	unsigned long mib = 0;
	char *last = d;
	for (char *p; (p = malloc(1 << 20)) != NULL; last = p) mib++;
	unsigned long left = (unsigned long)(__heap_end - (last + (1 << 20)));
	printf("exhausted after %lu MiB, %d\\n", mib, left < (1 << 20) + 16);
	printf("calloc overflow %d, too big %d\\n", calloc((size_t)1 << 62, 8) == NULL, malloc((size_t)-8) == NULL);
	printf("heap in window %d\\n", __heap_start > (char *)b - 4096 && __heap_end == (char *)0x41000000);
	return EXIT;
}
`;

function build(exit: number): string {
  const dir = mkdtempSync(join(tmpdir(), "nvlab-bare-"));
  const src = join(dir, "malloc_test.c");
  writeFileSync(src, PROGRAM);
  const out = join(dir, `malloc_test_${exit}.elf`);
  const c = "guests/c";
  execFileSync(CROSS_GCC, [
    "-O2", "-mgeneral-regs-only", "-mstrict-align", "-ffreestanding", "-nostdlib", "-static", "-fno-pie", "-fno-stack-protector",
    "-fno-tree-loop-distribute-patterns", "-Wall", "-Werror", `-DEXIT=${exit}`, `-I${c}/include`, "-T", `${c}/ld/bare.ld`, "-no-pie",
    "-Wl,--build-id=none", "-Wl,--no-warn-rwx-segments", "-o", out, src,
    ...["rt/crt0_bare.S", "rt/console_uart.c", "rt/printf.c", "rt/string.c", "rt/malloc.c"].map((f) => join(c, f)), "-lgcc",
  ]);
  return out;
}

describe.runIf(haveCross)("the bare programs' runtime under nvlab exec", () => {
  it("malloc: 16-byte aligned, reuses only the last block, runs out at the heap's end, refuses overflow", async () => {
    const r = await execProgram({ file: build(0), maxSteps: 10_000_000 });
    expect(r.console).toMatch(/^aligned 0 0\nlast block reused 1\ninner block kept 1\nexhausted after 1[45] MiB, 1\ncalloc overflow 1, too big 1\nheap in window 1\n$/);
    expect(r.stop).toMatchObject({ kind: "brk", imm: 0 });
    expect(r.image.symbols.get("bare_pass")).toBe(BigInt(r.stop.pc as string));
  }, 60_000);

  it("a non-zero return from main ends at bare_fail (brk #1, exec status 3) with the value in x0", async () => {
    const r = await execProgram({ file: build(7), maxSteps: 10_000_000 });
    expect(r.stop).toMatchObject({ kind: "brk", imm: 1 });
    expect(r.image.symbols.get("bare_fail")).toBe(BigInt(r.stop.pc as string));
    expect(r.regs.x0).toBe("0x7");
    expect(execExitCode(r.stop)).toBe(3);
  }, 60_000);
});
