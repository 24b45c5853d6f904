// PLACEHOLDER — instruction class rows, to be filled in.
import type { Encoding } from "../decode.ts";

export const DP_IMM_TABLE: Encoding<never>[] = [];
