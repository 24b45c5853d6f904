// The Advanced SIMD integer groups beyond simd.ts, in one list for the SIMD&FP decode table.

import type { Encoding } from "../decode.ts";
import { ELEM_TABLE } from "./simd_elem.ts";
import { MISC_TABLE } from "./simd_misc.ts";
import { PERMUTE_TABLE } from "./simd_permute.ts";
import { SHIFT_IMM_TABLE } from "./simd_shift.ts";
import { THREE_DIFF_TABLE } from "./simd_three_diff.ts";
import { THREE_SAME_TABLE } from "./simd_three_same.ts";

export const SIMD_INT_TABLE: Encoding<never>[] = [...THREE_SAME_TABLE, ...MISC_TABLE, ...PERMUTE_TABLE, ...THREE_DIFF_TABLE, ...SHIFT_IMM_TABLE, ...ELEM_TABLE];
