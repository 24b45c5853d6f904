// Register slots of CpuState.x (pairs of 32-bit halves: slot i has lo at 2i, hi at 2i+1). Slot 31
// reads as zero (XZR/WZR source), slot 32 is the current SP, slot 33 is a sink for writes to XZR.
// Decoders map register fields to slots once, so handlers never test for register 31.

export const ZR = 31;
export const SP = 32;
export const SINK = 33;
