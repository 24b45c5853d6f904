// The FP/SIMD loop of bench:cpu runs to its end on nvlab, retires the instructions the benchmark
// divides by, and leaves the same registers and table as on unicorn.

import { describe, expect, it } from "vitest";
import { fpLoopInstructions, runNvlabFp, runUnicornFp } from "../../bench/lib/fp_loop.ts";
import { unicornAvailable } from "../../lab/oracle/unicorn.ts";

describe("bench:cpu FP/SIMD loop", () => {
  it("retires the counted instructions and computes something on every path", () => {
    const r = runNvlabFp(300);
    expect(r.instructions).toBe(fpLoopInstructions(300));
    expect(r.regs[0]).toBe(0n);
    expect(r.regs[15]).not.toBe(0n); // the ADDV/UMOV sums
    expect(r.regs[16]).not.toBe(0n); // FMADD's accumulator
    expect(r.regs[13]).toBe(BigInt(Math.trunc(1 * 0.5))); // FCVTZS of the last SCVTF(x0 = 1) * 0.5
  });

  it.skipIf(!unicornAvailable().ok)("ends with unicorn's registers and table", () => {
    const nv = runNvlabFp(1000);
    const uc = runUnicornFp(1000);
    expect(nv.regs).toEqual(uc.regs);
    expect(nv.tableSum).toBe(uc.tableSum);
  });
});
