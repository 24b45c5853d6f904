// The C guests (guests/c/) for tests: built once with `make -C guests/c` when Debian's cross compiler
// is installed, loaded as raw images (the .bin files objcopy made) at their canonical addresses.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Image } from "../../../asm/image.ts";
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

/** A raw image as an Image: one section at `base`, entered at its first byte. */
export function rawImage(path: string, base: bigint): Image {
  const bytes = new Uint8Array(readFileSync(path));
  return { file: path, sections: [{ name: "raw", base, bytes }], symbols: new Map(), constants: new Map(), entry: base };
}

/** build/NAME.bin of the C guests, loaded at `base`. */
export function cGuestImage(name: string, base: bigint): Image {
  return rawImage(join(C_BUILD_DIR, `${name}.bin`), base);
}
