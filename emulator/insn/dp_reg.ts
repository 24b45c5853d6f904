// PLACEHOLDER — instruction class rows, to be filled in.
import type { Encoding } from "../decode.ts";

export const DP_REG_TABLE: Encoding<never>[] = [];
