// PLACEHOLDER — instruction class rows, to be filled in.
import type { Encoding } from "../decode.ts";

export const LDST_TABLE: Encoding<never>[] = [];
