// The keystone engine, loaded once and used one instruction at a time (keystone reports no line
// numbers, so nvlab never hands it more than a single statement).

import { Keystone, Const, loadKeystone } from "keystone-wasm";
import { keyAt } from "../emulator/item_at.ts";

let ks: Keystone | null = null;
let loading: Promise<void> | null = null;

export async function loadKeystoneEngine(): Promise<void> {
  loading ??= loadKeystone().then(() => {
    ks = new Keystone(keyAt(Const, "KS_ARCH_ARM64", "keystone"), keyAt(Const, "KS_MODE_LITTLE_ENDIAN", "keystone"));
  });
  await loading;
}

export type KsResult = { ok: true; bytes: Uint8Array } | { ok: false; errNo: number };

/** Assemble one instruction's text at `address`. Never throws for bad input. */
export function ksAssemble(text: string, address: bigint): KsResult {
  if (!ks) throw new Error("keystone is not loaded (call loadKeystoneEngine first)");
  try {
    return { ok: true, bytes: ks.asm(text, { address }) };
  } catch {
    return { ok: false, errNo: ks.errNo() };
  }
}

export const KS_ERR_ASM_SYMBOL_MISSING = Const.KS_ERR_ASM_SYMBOL_MISSING;
export const KS_ERR_ASM_MNEMONICFAIL = Const.KS_ERR_ASM_MNEMONICFAIL;
export const KS_ERR_ASM_MISSINGFEATURE = Const.KS_ERR_ASM_MISSINGFEATURE;
