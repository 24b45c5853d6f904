// The shapes the SIMD&FP census of compiled images reports instructions by.

import { describe, expect, it } from "vitest";
import { operandShape } from "./undecoded.ts";

describe("operandShape", () => {
  it("keeps arrangements and register kinds, folds registers, immediates and memory operands", () => {
    expect(operandShape("fmla", "v0.4s, v1.4s, v2.s[1]")).toBe("fmla 4s,4s,s");
    expect(operandShape("ldr", "q0, [x1, #16]")).toBe("ldr q,M");
    expect(operandShape("ld1r", "{v0.4s}, [x0], #4")).toBe("ld1r 4s,M,#");
    expect(operandShape("st4", "{v0.4s-v3.4s}, [x0]")).toBe("st4 4s,M");
    expect(operandShape("fmov", "d0, x1")).toBe("fmov d,x");
    expect(operandShape("msr", "fpcr, xzr")).toBe("msr fpcr,x");
  });
});
