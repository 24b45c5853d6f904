// picolibc's printf, strtod, libm and fenv on nvlab's SIMD&FP model, against QEMU: a C program
// built here with Debian's cross compiler and picolibc (without -mgeneral-regs-only, so the
// library's own FP and SIMD code runs: variadic prologues saving q0-q7, soft conversions in
// printf, libm's polynomial kernels, FPCR/FPSR through fenv) must print exactly what
// qemu-system-aarch64 prints. Skipped with a warning when the toolchain or QEMU is missing,
// failing instead under CI=true.
//
// nvlab runs it with the MMU on (picolibc_machine.ts): picolibc's string routines make unaligned
// and 8-byte-aligned 16-byte accesses, which fault on Device memory, what data accesses are with
// the MMU off (QEMU 7.2 does not check that alignment).

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { qemuForTests } from "../../helpers/qemu_required.ts";
import { runPicolibc } from "./picolibc_machine.ts";

const GCC = "/usr/bin/aarch64-linux-gnu-gcc";
const PICOLIBC = "/usr/lib/picolibc/aarch64-linux-gnu/picolibc.specs";
const toolchain = existsSync(GCC) && existsSync(PICOLIBC);
if (!toolchain) {
  if (process.env.CI === "true") throw new Error("aarch64-linux-gnu-gcc and picolibc are required under CI=true");
  console.warn("aarch64-linux-gnu-gcc or picolibc missing: SKIPPING the picolibc FP program");
}
const qemu = toolchain && qemuForTests("the picolibc FP program against QEMU");

const PROGRAM = String.raw`#include <fenv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_value(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
static int by_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}
volatile double two = 2.0, third = 1.0 / 3.0, tiny = 1e-310, big = 1e308;
volatile float half = 0.5f, fbig = 3e38f;

int main(void) {
  char *p = malloc(64);
  strcpy(p, "hello");
  strcat(p, " world");
  printf("%s %d %zu %x %ld\n", p, 42, strlen(p), 0xbeef, strtol("-1234", 0, 10));
  char buf[96];
  snprintf(buf, sizeof buf, "%08.3f|%-5s|%e|%g|%a", two * 3.14159, "ab", two / 7, 1e-5 * two, third);
  puts(buf);
  int a[8] = {5, 3, 9, 1, 7, 2, 8, 0};
  qsort(a, 8, sizeof a[0], by_value);
  for (int i = 0; i < 8; i++) printf("%d", a[i]);
  puts("");
  double d[6] = {3.5, -1.25, 1e100, -0.0, 2.0 / 3.0, 1e-300};
  qsort(d, 6, sizeof d[0], by_double);
  for (int i = 0; i < 6; i++) printf("%.17g ", d[i]);
  puts("");
  double x = two;
  printf("%.15f %.15f %.15f %.15f %.15f %.15f\n", sqrt(x), sin(x), cos(x), exp(x), log(x), pow(x, 0.3));
  printf("%.9f %.9f %.9f %.9f\n", (double)sqrtf(half), (double)sinf(half), (double)expf(half), atan2(x, 3.0));
  printf("%g %g %g %g %g\n", floor(x * 1.7), ceil(-x * 1.7), fmod(x * 10.3, 3.0), round(2.5), trunc(-2.7));
  printf("%.17g %.17g %.17g\n", strtod("0.1", 0), strtod("1e-320", 0), strtod("-123456789.987654321", 0));
  printf("%g %g %g %g\n", tiny * tiny, big * 10, -big * 10, 0.0 / (tiny - tiny));
  printf("%ld %ld %d %u\n", lrint(2.5), lround(-2.5), (int)(fbig * 0.0f + 7.9f), (unsigned)(x * 1e9));
  static const int modes[4] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
  for (int m = 0; m < 4; m++) {
    fesetround(modes[m]);
    feclearexcept(FE_ALL_EXCEPT);
    volatile double q = 1.0 / (third * 3.0 + 0.1);
    volatile double r = rint(-2.5) + nearbyint(3.5);
    volatile float s = (float)third * fbig * 10.0f;
    int flags = fetestexcept(FE_ALL_EXCEPT);
    printf("mode %d: %a %a %a %lld flags %x\n", m, q, r, (double)s, llrint(-7.5), flags);
  }
  fesetround(FE_TONEAREST);
  feclearexcept(FE_ALL_EXCEPT);
  volatile double z = 1.0 / (tiny - tiny);
  printf("%g divbyzero=%d invalid=%d\n", z, fetestexcept(FE_DIVBYZERO) != 0, fetestexcept(FE_INVALID) != 0);
  free(p);
  return 3;
}
`;

function build(): string {
  const dir = mkdtempSync(join(tmpdir(), "nvlab-picolibc-fp-"));
  const c = join(dir, "fp.c");
  const elf = join(dir, "fp.elf");
  writeFileSync(c, PROGRAM);
  const r = spawnSync(GCC, [
    "--specs=picolibc.specs", "--oslib=semihost", "--crt0=semihost", "-O2", "-no-pie", "-static",
    "-Wl,--defsym=__flash=0x40100000", "-Wl,--defsym=__flash_size=0x100000",
    "-Wl,--defsym=__ram=0x40200000", "-Wl,--defsym=__ram_size=0x200000",
    "-o", elf, c, "-lm",
  ], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`building the picolibc FP program failed:\n${r.stderr}`);
  return elf;
}

/** QEMU's semihosting console goes to a file chardev (without one, QEMU 7.2 writes it to stderr). */
function runQemu(elf: string): { console: string; status: number | null } {
  const out = join(dirname(elf), "qemu-console.txt");
  const r = spawnSync("qemu-system-aarch64", [
    "-M", "virt", "-cpu", "max", "-nographic", "-chardev", `file,id=semihosting,path=${out}`,
    "-semihosting-config", "enable=on,target=native,chardev=semihosting", "-kernel", elf,
  ], { encoding: "utf8", timeout: 30_000, stdio: ["ignore", "pipe", "pipe"] });
  return { console: existsSync(out) ? readFileSync(out, "utf8") : "", status: r.status };
}

describe.skipIf(!qemu)("picolibc printf/libm/fenv on the SIMD&FP model, against QEMU", () => {
  it("prints what QEMU prints and exits with main's status", async () => {
    const elf = build();
    const expected = runQemu(elf);
    const got = await runPicolibc(elf, 20_000_000);
    expect(expected.console).toContain("hello world 42 11 beef -1234\n");
    expect(got.console).toBe(expected.console);
    expect(got.stop).toMatchObject({ kind: "semihosting-exit", code: 3 });
    expect(expected.status).toBe(3);
    // The run really used the SIMD&FP unit: libm and printf's conversions left state behind.
    expect(got.cpu.getV(0) | got.cpu.getV(1) | got.cpu.getV(8)).not.toBe(0n);
  }, 120_000);
});
