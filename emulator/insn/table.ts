// The A64 decode table: every instruction class contributes its rows. Order matters only inside a
// class file (first match wins); classes occupy disjoint encoding spaces.

import type { Encoding } from "../decode.ts";
import { BRANCH_TABLE } from "./branch.ts";
import { DP_IMM_TABLE } from "./dp_imm.ts";
import { DP_REG_TABLE } from "./dp_reg.ts";
import { FP_TABLE } from "./fp_table.ts";
import { LDST_TABLE } from "./ldst.ts";
import { SYSTEM_TABLE } from "./system.ts";

export const A64_TABLE: readonly Encoding<never>[] = [
  ...SYSTEM_TABLE,
  ...BRANCH_TABLE,
  ...DP_IMM_TABLE,
  ...DP_REG_TABLE,
  ...LDST_TABLE,
  ...FP_TABLE,
];
