// The SIMD&FP part of the A64 decode table: loads/stores with V = 1, scalar FP data processing and
// conversions, and the Advanced SIMD instructions implemented so far. Any other SIMD&FP encoding
// has no row and is UNDEFINED-as-unimplemented like every unknown word.

import type { Encoding } from "../decode.ts";
import { FP_DP_TABLE } from "./fp_dp.ts";
import { FP_INT_TABLE } from "./fp_int.ts";
import { FP_LDST_TABLE } from "./fp_ldst.ts";
import { SIMD_TABLE } from "./simd.ts";
import { SIMD_FP_TABLE } from "./simd_fp.ts";
import { SIMD_FP_ELEM_TABLE } from "./simd_fp_elem.ts";
import { SIMD_FP_FIXED_TABLE } from "./simd_fp_fixed.ts";
import { SIMD_FP_MISC_TABLE } from "./simd_fp_misc.ts";
import { SIMD_INT_TABLE } from "./simd_int_table.ts";
import { SIMD_LDST_TABLE } from "./simd_ldst.ts";

export const FP_TABLE: Encoding<never>[] = [
  ...FP_LDST_TABLE, ...SIMD_LDST_TABLE, ...FP_DP_TABLE, ...FP_INT_TABLE, ...SIMD_TABLE, ...SIMD_INT_TABLE,
  ...SIMD_FP_TABLE, ...SIMD_FP_MISC_TABLE, ...SIMD_FP_ELEM_TABLE, ...SIMD_FP_FIXED_TABLE,
];
