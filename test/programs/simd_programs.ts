// The programs and C guests built as ordinary compiler output (no -mgeneral-regs-only, -O2 and -O3:
// guests/c/Makefile's *_o2_simd / *_o3_simd and opus_check_o2 / _o3 targets), for the tests, and
// what nvlab still lacks to run each one.

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { C_GUESTS_DIR } from "../guests/c/c_guests.ts";

export type Toolchain = "gcc" | "clang";
export const OPT_LEVELS = ["o2", "o3"] as const;

/** Where a toolchain's builds go (guests/c/Makefile's B). */
export const buildDir = (tc: Toolchain): string => join(C_GUESTS_DIR, tc === "gcc" ? "build" : "build-clang");

export interface Built {
  elf: string;
  bin: string;
}

/** `make -C guests/c` of NAME.elf and NAME.bin with the toolchain and variables; throws with the compiler's output. */
export function makeProgram(name: string, tc: Toolchain, vars: Record<string, string> = {}): Built {
  const dir = buildDir(tc);
  const rel = tc === "gcc" ? "build" : "build-clang";
  const args = ["-s", "-C", C_GUESTS_DIR, `${rel}/${name}.elf`, `${rel}/${name}.bin`, `TOOLCHAIN=${tc}`, ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)];
  try {
    execFileSync("make", args, { stdio: ["ignore", "pipe", "pipe"], timeout: 600_000 });
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`make ${args.slice(3).join(" ")} failed:\n${String(err.stdout ?? "")}${String(err.stderr ?? "")}`);
  }
  return { elf: join(dir, `${name}.elf`), bin: join(dir, `${name}.bin`) };
}

/** How many of the ELF's instructions name a SIMD&FP register (v, q, d, s, h, b) or FPCR/FPSR. */
export function simdFpInstructionCount(elf: string): number {
  const text = execFileSync("aarch64-linux-gnu-objdump", ["-d", "--no-show-raw-insn", elf], { encoding: "utf8", maxBuffer: 256 << 20 });
  let n = 0;
  for (const line of text.split("\n")) {
    const m = /^\s+[0-9a-f]+:\s+([a-z][a-z0-9.]*)\s*([^/<]*)/.exec(line);
    if (m === null) continue;
    const ops = m[2]!;
    if (/\b(v\d+\.\d*[bhsdq]|[qdshb]\d+)\b/.test(ops) || /\bfp[sc]r\b/.test(ops)) n++;
  }
  return n;
}

/**
 * What each program still needs from the CPU model on this branch: the first instruction nvlab
 * stops at (UNDEFINED) and its class. A program listed here has its nvlab-vs-QEMU test skipped;
 * remove its entry once that class (and whatever comes after it) is implemented.
 */
export const WAITING_FOR: Record<string, string> = {};
