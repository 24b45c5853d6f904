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
export const WAITING_FOR: Record<string, string> = {
  "gcc cpubench_r1_o2_simd": "vector integer compare: cmeq v0.4s, v0.4s, #0 (Advanced SIMD two-register misc)",
  "gcc cpubench_r1_o3_simd": "vector integer compare: cmeq v0.4s, v0.4s, #0 (Advanced SIMD two-register misc)",
  "gcc lz4_check_16k_o2_simd": "widening multiply: smull2 v4.2d, v2.4s, v3.4s (Advanced SIMD three-different)",
  "gcc lz4_check_16k_o3_simd": "structure store: st4 {v0.4s-v3.4s}, [x0], #64 (LD1-4/ST1-4 multiple structures)",
  "clang lz4_check_16k_o2_simd": "vector multiply-accumulate: mla v0.4s, v3.4s, v1.4s (Advanced SIMD three-same)",
  "clang lz4_check_16k_o3_simd": "vector multiply-accumulate: mla v0.4s, v3.4s, v1.4s (Advanced SIMD three-same)",
  "gcc opus_check_o2": "table lookup: tbl v2.16b, {v2.16b, v3.16b}, v5.16b (Advanced SIMD permute/table), then vector FP",
  "gcc opus_check_o3": "table lookup: tbl v2.16b, {v2.16b, v3.16b}, v5.16b (Advanced SIMD permute/table), then vector FP",
  // The C L1 itself uses q registers at virtual EL2 (its vectors save L2's, the compiler's copies):
  // L0 does not yet let a virtual EL2 with CPTR_EL2.TFP clear use the SIMD&FP unit (nested FP).
  "gcc hyp_c_o2_simd": "SIMD&FP at virtual EL2 (L1's CPTR_EL2.TFP = 0 honoured by L0)",
  "gcc hyp_c_o3_simd": "SIMD&FP at virtual EL2 (L1's CPTR_EL2.TFP = 0 honoured by L0)",
  "clang hyp_c_o2_simd": "SIMD&FP at virtual EL2 (L1's CPTR_EL2.TFP = 0 honoured by L0)",
  "clang hyp_c_o3_simd": "SIMD&FP at virtual EL2 (L1's CPTR_EL2.TFP = 0 honoured by L0)",
};
