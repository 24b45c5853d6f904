// nvlab's instruction helpers: fixed-size expansions, so pass 1 can size them before values are known.

import { hex } from "../emulator/types.ts";

/** Size in bytes of each helper mnemonic. */
export const MACRO_SIZES: ReadonlyMap<string, number> = new Map([
  ["mov64", 16],
  ["movl", 16],
  ["mov32", 8],
  ["adrl", 8],
]);

/** MOVZ + 3×MOVK loading the 64-bit `value` into `xd`; always four instructions. */
export function mov64Lines(xd: string, value: bigint): string[] {
  const v = BigInt.asUintN(64, value);
  const h = (i: number) => hex((v >> BigInt(16 * i)) & 0xffffn);
  return [`movz ${xd}, #${h(0)}`, `movk ${xd}, #${h(1)}, lsl #16`, `movk ${xd}, #${h(2)}, lsl #32`, `movk ${xd}, #${h(3)}, lsl #48`];
}

/** MOVZ + MOVK loading the 32-bit `value` into `rd` (a W or X register; upper half zeroed). */
export function mov32Lines(rd: string, value: bigint): string[] {
  const v = BigInt.asUintN(32, value);
  return [`movz ${rd}, #0x${(v & 0xffffn).toString(16)}`, `movk ${rd}, #0x${(v >> 16n).toString(16)}, lsl #16`];
}
