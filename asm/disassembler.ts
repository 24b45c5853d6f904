// capstone-based disassembly, one instruction word at a time (capstone throws on an invalid first
// word and stops at the first invalid one, so words are never batched).

import { Capstone, Const, loadCapstone } from "capstone-wasm";
import { hex } from "../emulator/types.ts";
import { itemAt, keyAt } from "../emulator/item_at.ts";

let cs: Capstone | null = null;
let loading: Promise<void> | null = null;

/** Load capstone; call once (later calls wait for the same load). */
export async function loadDisassembler(): Promise<void> {
  loading ??= loadCapstone().then(() => {
    cs = new Capstone(keyAt(Const, "CS_ARCH_ARM64", "capstone"), keyAt(Const, "CS_MODE_ARM", "capstone"));
  });
  await loading;
}

export interface Disassembly {
  mnemonic: string;
  operands: string;
  text: string;
}


/**
 * Disassemble one 32-bit instruction word located at `address` (PC-relative targets are printed
 * as absolute addresses). Words capstone cannot decode come back as `.word 0x…`.
 */
export function disassemble(word: number, address: bigint): Disassembly {
  if (!cs) throw new Error("disassembler not loaded (await loadDisassembler() first)");
  const w = word >>> 0;
  const bytes = new Uint8Array([w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24]);
  let insn;
  try {
    insn = cs.disasm(bytes, { address: BigInt.asUintN(64, address), count: 1 })[0];
  } catch {
    insn = undefined;
  }
  if (!insn) return { mnemonic: ".word", operands: hex(w >>> 0, 8), text: `.word ${hex(w >>> 0, 8)}` };
  const operands = insn.opStr.trim();
  return { mnemonic: insn.mnemonic, operands, text: operands ? `${insn.mnemonic} ${operands}` : insn.mnemonic };
}

interface SortedSymbols {
  size: number;
  names: string[];
  values: bigint[];
}

const sortedCache = new WeakMap<Map<string, bigint>, SortedSymbols>();

function sorted(symbols: Map<string, bigint>): SortedSymbols {
  const hit = sortedCache.get(symbols);
  if (hit && hit.size === symbols.size) return hit;
  const entries = [...symbols].map(([n, v]) => [n, BigInt.asUintN(64, v)] as const);
  // Ascending by address; among equal addresses the alphabetically first name wins.
  entries.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : 0));
  const s = { size: symbols.size, names: entries.map((e) => e[0]), values: entries.map((e) => e[1]) };
  sortedCache.set(symbols, s);
  return s;
}

/**
 * `label` or `label+0x10` for the nearest symbol at or below `address`, or null when none is.
 * `maxOffset` bounds how far past a symbol an address may be to still be named after it.
 */
export function symbolize(address: bigint, symbols: Map<string, bigint>, maxOffset?: bigint): string | null {
  const a = BigInt.asUintN(64, address);
  const { names, values } = sorted(symbols);
  let lo = 0;
  let hi = values.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (itemAt(values, mid, "symbol address") <= a) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const value = values[best];
  const name = names[best];
  if (value === undefined || name === undefined) return null;
  const off = a - value;
  if (maxOffset !== undefined && off > maxOffset) return null;
  return off === 0n ? name : `${name}+0x${off.toString(16)}`;
}
