// The C guests (guests/c/) for tests: built once with `make -C guests/c` when Debian's cross compiler
// is installed, loaded as raw images (the .bin files objcopy made) at their canonical addresses, and
// the consoles they print.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Image } from "../../../asm/image.ts";
import { rawImage } from "../../../lab/image_file.ts";
import { REPO_ROOT } from "../../qemu/pairs.ts";

export const C_GUESTS_DIR = join(REPO_ROOT, "guests/c");
export const C_BUILD_DIR = join(C_GUESTS_DIR, "build");
export const CROSS_GCC = "aarch64-linux-gnu-gcc";

/** The C L1 in each stage-2 format (guests/c/Makefile). */
export const C_L1S = ["hyp_c", "hyp_c_2m", "hyp_c_16k", "hyp_c_64k"] as const;
export type CL1 = (typeof C_L1S)[number];

const runs = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { encoding: "utf8", timeout: 10_000 }).status === 0;

/** Whether the cross compiler and make can be run here. */
export function crossCompilerAvailable(): boolean {
  return runs(CROSS_GCC, ["--version"]) && runs("make", ["--version"]);
}

/**
 * Skip the C guest tests with a warning when the compiler is missing, except under CI, where
 * `.ci/run` installs it: there a missing compiler is a failure, not a skip.
 */
export function cGuestsBuildable(): boolean {
  if (crossCompilerAvailable()) return true;
  const message = `${CROSS_GCC} or make not found: SKIPPING the C guests (apt-get install gcc-aarch64-linux-gnu make)`;
  if (process.env.CI === "true") throw new Error(message.replace("SKIPPING", "cannot build"));
  console.warn(message);
  return false;
}

/** `make -C guests/c`; throws with the compiler's output when the build fails. */
export function buildCGuests(): void {
  const r = spawnSync("make", ["-C", C_GUESTS_DIR], { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`make -C guests/c failed:\n${r.stdout}${r.stderr}`);
}

/** build/NAME.bin of the C guests, loaded at `base`. */
export function cGuestImage(name: string, base: bigint): Image {
  const path = join(C_BUILD_DIR, `${name}.bin`);
  return rawImage(new Uint8Array(readFileSync(path)), path, base);
}

/** Format line and the C L2's stage-2 fault count, per C L1 (the assembly hello.S always faults once). */
export const FORMATS: Record<CL1, { name: string; leafKiB: number; faults: number }> = {
  // 4K: 4 image pages (text, rodata, data, bss), the UART, 24 touched pages, the stack page.
  hyp_c: { name: "4K granule, lazy 4K pages", leafKiB: 4, faults: 29 },
  // 2M: the image block (UART block, touch block, stack block).
  hyp_c_2m: { name: "4K granule, lazy 2M blocks", leafKiB: 2048, faults: 4 },
  hyp_c_16k: { name: "16K granule, lazy 16K pages", leafKiB: 16, faults: 10 },
  hyp_c_64k: { name: "64K granule, lazy 64K pages", leafKiB: 64, faults: 6 },
};

export function expectedConsole(l1: CL1): string {
  const f = FORMATS[l1];
  return (
    `L1: hyp_c: ${f.name}, 2 L2s\n` +
    "L1: entering L2 #0 (VMID 1)\n" +
    "hello from C L2\n" +
    "C L2: this line went to the UART directly\n" +
    "C L2: printf -42 42 beef 123456789abc Z str 0x40000000 00007|  9|\n" +
    "C L2: 24 pages written and read back, 0 errors\n" +
    "C L2: remap: before 0x0123456789abcdef\n" +
    `L1: remapped L2 #0 leaf 0x40200000 (${f.leafKiB} KiB) with TLBI IPAS2E1IS\n` +
    "C L2: remap: after  0xfedcba9876543210\n" +
    "C L2: PASS\n" +
    `L1: L2 #0 exited with code 0, stage-2 faults: ${f.faults}\n` +
    "L1: entering L2 #1 (VMID 2)\n" +
    "hello from L2\n" +
    "L1: L2 #1 exited with code 0, stage-2 faults: 1\n" +
    "L1: system off, exit code 0\n"
  );
}
