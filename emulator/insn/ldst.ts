// The A64 integer load/store class (Arm ARM C4.1.x "Loads and Stores", op1 = x1x0 with V = 0):
// single registers in every addressing mode, pairs, exclusives and acquire/release. The rows of
// each group live in their own file; their encoding spaces are disjoint.

import type { Encoding } from "../decode.ts";
import { LDST_EXCLUSIVE_TABLE } from "./ldst_exclusive.ts";
import { LDST_PAIR_TABLE } from "./ldst_pair.ts";
import { LDST_SINGLE_TABLE } from "./ldst_single.ts";

export const LDST_TABLE: Encoding<never>[] = [...LDST_SINGLE_TABLE, ...LDST_PAIR_TABLE, ...LDST_EXCLUSIVE_TABLE];
