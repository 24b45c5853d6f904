// Guest memory as the debugger sees it, by address space: a VA of L1 or L2, a nested IPA (L2's
// "physical" address), a canonical IPA (L1's physical address) or a host PA. Guest addresses are
// translated the way the guest defined them (L2 stage-1, then L1's stage-2), not through the
// shadow tables, so memory L0 has not faulted in yet is still readable; RAM is reached through
// the memslot, whether the page is resident or not. Nothing here changes guest-visible state
// except an explicit write.

import { HCR_DC, HCR_TGE, HCR_VM, SCTLR_M } from "../emulator/mmu/regs.ts";
import { hex } from "../emulator/types.ts";
import { kvmReadGuest, gfnToMemslot } from "../hypervisor/mmu.ts";
import type { KvmS2Mmu } from "../hypervisor/nested.ts";
import { translateSctlrEl2ToEl1, translateTcrEl2ToEl1, translateTtbr0El2ToEl1 } from "../hypervisor/el2_translate.ts";
import type { KvmVcpu } from "../hypervisor/vcpu.ts";
import type { Kvm } from "../hypervisor/vm.ts";
import { DebugError } from "./errors.ts";
import type { Level } from "./symbols.ts";
import {
  type DescriptorReader, identityWalk, newWalk, type Stage1Regs, stage1TracedWalk, stage2TracedWalk, type StageWalk,
} from "./walk.ts";

/** VA of the current level, nested IPA, canonical IPA, host PA. */
export type AddressSpace = "va" | "nipa" | "ipa" | "pa";

export const ADDRESS_SPACES: readonly AddressSpace[] = ["va", "nipa", "ipa", "pa"];

/** How output names an address space. */
export function spaceName(space: AddressSpace, level: Level): string {
  switch (space) {
    case "va": return `${level} VA`;
    case "nipa": return "nested IPA";
    case "ipa": return "canonical IPA";
    case "pa": return "host PA";
  }
}

/** A descriptor at a canonical IPA (L1 memory). */
export function readCanonical64(kvm: Kvm, ipa: bigint): bigint | string | null {
  const v = kvmReadGuest(kvm, ipa, 8);
  return v === null ? "not L1 RAM" : v;
}

/** A descriptor at a host PA (L0's own tables). */
export function readHost64(kvm: Kvm, pa: bigint): bigint | string | null {
  const page = kvm.mem.page(Number(pa));
  return page ? page.dv.getBigUint64(Number(pa & 0xff8n), true) : "no host page";
}

/** L2's EL1&0 stage-1 registers, wherever they currently live, and whether stage 1 is on. */
export function l2Stage1Regs(vcpu: KvmVcpu): { enabled: boolean; regs: Stage1Regs } {
  const r = (n: string) => vcpu.vcpuReadSysReg(n);
  const regs = { SCTLR_EL1: r("SCTLR_EL1"), TCR_EL1: r("TCR_EL1"), TTBR0_EL1: r("TTBR0_EL1"), TTBR1_EL1: r("TTBR1_EL1"), MAIR_EL1: r("MAIR_EL1") };
  const enabled = (regs.SCTLR_EL1 & SCTLR_M) !== 0n && (r("HCR_EL2") & (HCR_DC | HCR_TGE)) === 0n;
  return { enabled, regs };
}

/** L1's own (nVHE EL2) stage-1 registers in EL1 format, and whether stage 1 is on. */
export function l1Stage1Regs(vcpu: KvmVcpu): { enabled: boolean; regs: Stage1Regs } {
  const r = (n: string) => vcpu.vcpuReadSysReg(n);
  const sctlr = r("SCTLR_EL2");
  const regs = {
    SCTLR_EL1: translateSctlrEl2ToEl1(sctlr),
    TCR_EL1: translateTcrEl2ToEl1(r("TCR_EL2")),
    TTBR0_EL1: translateTtbr0El2ToEl1(r("TTBR0_EL2")),
    TTBR1_EL1: 0n,
    MAIR_EL1: r("MAIR_EL2"),
  };
  return { enabled: (sctlr & SCTLR_M) !== 0n, regs };
}

/** Whether L1 has its stage-2 (nested IPA → canonical IPA) turned on for L2. */
export function l1Stage2Enabled(vcpu: KvmVcpu): boolean {
  return (vcpu.vcpuReadSysReg("HCR_EL2") & (HCR_VM | HCR_DC)) !== 0n;
}

/** L1's stage-2 for nested IPA `nipa` (tables in L1 memory). */
export function walkL1Stage2(vcpu: KvmVcpu, nipa: bigint): StageWalk {
  const w = newWalk("L1 stage-2", "nested IPA", "canonical IPA", "canonical IPA", nipa);
  if (!l1Stage2Enabled(vcpu)) return identityWalk(w);
  const kvm = vcpu.kvm;
  return stage2TracedWalk(w, vcpu.vcpuReadSysReg("VTCR_EL2"), vcpu.vcpuReadSysReg("VTTBR_EL2"), nipa, (a) => readCanonical64(kvm, a));
}

/**
 * L1's stage-2 for nested IPA `nipa` as a shadow MMU shadows it: the L1 context the MMU caches
 * (its VTTBR_EL2/VTCR_EL2 and HCR_EL2.VM), whichever context the vCPU has loaded now.
 */
export function walkL1Stage2Of(mmu: KvmS2Mmu, nipa: bigint): StageWalk {
  const w = newWalk(`L1 stage-2 (mmu${mmu.index})`, "nested IPA", "canonical IPA", "canonical IPA", nipa);
  if (!mmu.valid) {
    w.stopped = "level 0: the MMU shadows no L1 context (invalid)";
    return w;
  }
  if (!mmu.nestedStage2Enabled) return identityWalk(w);
  const kvm = mmu.kvm;
  return stage2TracedWalk(w, mmu.tlbVtcr, mmu.tlbVttbr, nipa, (a) => readCanonical64(kvm, a));
}

/** A descriptor at a nested IPA: through L1's stage-2 into L1 memory. */
function nestedReader(vcpu: KvmVcpu): DescriptorReader {
  return (a) => {
    const s2 = walkL1Stage2(vcpu, a);
    if (s2.output === null) return `L1 stage-2: ${s2.stopped}`;
    return readCanonical64(vcpu.kvm, s2.output);
  };
}

/** L2's stage-1 for `va` (tables at nested IPAs). */
export function walkL2Stage1(vcpu: KvmVcpu, va: bigint): StageWalk {
  const w = newWalk("L2 stage-1", "L2 VA", "nested IPA", "nested IPA", va);
  const { enabled, regs } = l2Stage1Regs(vcpu);
  if (!enabled) return identityWalk(w);
  return stage1TracedWalk(w, regs, va, nestedReader(vcpu));
}

/** L1's stage-1 for `va` (tables at canonical IPAs). */
export function walkL1Stage1(vcpu: KvmVcpu, va: bigint): StageWalk {
  const w = newWalk("L1 stage-1", "L1 VA", "canonical IPA", "canonical IPA", va);
  const { enabled, regs } = l1Stage1Regs(vcpu);
  if (!enabled) return identityWalk(w);
  const kvm = vcpu.kvm;
  return stage1TracedWalk(w, regs, va, (a) => readCanonical64(kvm, a));
}

/** The canonical stage-2 (kvm->arch.mmu) for canonical IPA `ipa` (tables in host memory). */
export function walkCanonicalStage2(kvm: Kvm, ipa: bigint): StageWalk {
  const w = newWalk("canonical stage-2", "canonical IPA", "host PA", "host PA", ipa);
  return stage2TracedWalk(w, kvm.mmu.pgt.vtcr, kvm.mmu.vttbr(), ipa, (a) => readHost64(kvm, a));
}

/** A shadow stage-2 for nested IPA `nipa` (tables in host memory). */
export function walkShadowStage2(mmu: KvmS2Mmu, nipa: bigint): StageWalk {
  const w = newWalk(`shadow stage-2 (mmu${mmu.index})`, "nested IPA", "host PA", "host PA", nipa);
  return stage2TracedWalk(w, mmu.pgt.vtcr, mmu.vttbr(), nipa, (a) => readHost64(mmu.kvm, a));
}

/**
 * The host PA backing canonical `canonical` (the memslot's resident page): what a shadow leaf
 * built now would map; null when it is not L1 RAM or not resident.
 */
export function backingOf(kvm: Kvm, canonical: bigint): bigint | null {
  const pa = gfnToMemslot(kvm, canonical)?.hostPa(canonical & ~0xfffn) ?? null;
  return pa === null ? null : BigInt(pa) + (canonical & 0xfffn);
}

/** The guest-defined walks from a VA of `level` to a canonical IPA: stage-1, then (L2) L1's stage-2. */
export function walksToCanonical(vcpu: KvmVcpu, level: Level, va: bigint): StageWalk[] {
  if (level === "L1") return [walkL1Stage1(vcpu, va)];
  const s1 = walkL2Stage1(vcpu, va);
  if (s1.output === null) return [s1];
  return [s1, walkL1Stage2(vcpu, s1.output)];
}

/** Why a chain of walks stopped, for an error message. */
export function walkFailure(walks: readonly StageWalk[]): string {
  const w = walks.find((x) => x.output === null);
  return w ? `${w.name} of ${w.from} ${hex(w.input)} stopped at ${w.stopped}` : "";
}

/** The canonical IPA of `addr` in `space` (host PAs have none), or a DebugError. */
export function toCanonical(vcpu: KvmVcpu, level: Level, space: "va" | "nipa" | "ipa", addr: bigint): bigint {
  if (space === "ipa") return addr;
  const walks = space === "va" ? walksToCanonical(vcpu, level, addr) : [walkL1Stage2(vcpu, addr)];
  const last = walks[walks.length - 1]!;
  if (last.output === null) throw new DebugError(`${spaceName(space, level)} ${hex(addr)} is not mapped: ${walkFailure(walks)}`);
  return last.output;
}

const PAGE = 0x1000n;

/** Split [addr, addr+len) at 4K boundaries (translations are at least 4K). */
function pageChunks(addr: bigint, len: number): { at: bigint; off: number; n: number }[] {
  const out: { at: bigint; off: number; n: number }[] = [];
  let done = 0;
  while (done < len) {
    const at = BigInt.asUintN(64, addr + BigInt(done));
    const n = Math.min(Number(PAGE - (at & (PAGE - 1n))), len - done);
    out.push({ at, off: done, n });
    done += n;
  }
  return out;
}

/** Longest read or write the debugger does at once. */
export const MAX_ACCESS = 1 << 20;

function checkLength(len: number): void {
  if (!Number.isInteger(len) || len < 0 || len > MAX_ACCESS) throw new DebugError(`length ${len} is out of range (0..${MAX_ACCESS} bytes)`);
}

/** The canonical-IPA RAM slot for `ipa`, or a DebugError naming the address as the user gave it. */
function slotFor(kvm: Kvm, ipa: bigint, n: number, what: string) {
  const slot = gfnToMemslot(kvm, ipa);
  if (!slot || !slot.contains(ipa + BigInt(n) - 1n)) {
    const where = what.startsWith("canonical IPA") ? what : `${what}: canonical IPA ${hex(ipa)}`;
    throw new DebugError(`${where} is not L1 RAM${ipa >= 0x0900_0000n && ipa < 0x0900_1000n ? " (it is the UART)" : ""}`);
  }
  return slot;
}

/** `len` bytes at `addr` in `space`; `level` says whose VA "va" is. */
export function readGuestMemory(vcpu: KvmVcpu, level: Level, space: AddressSpace, addr: bigint, len: number): Uint8Array {
  checkLength(len);
  const out = new Uint8Array(len);
  const kvm = vcpu.kvm;
  for (const c of pageChunks(addr, len)) {
    const what = `${spaceName(space, level)} ${hex(c.at)}`;
    if (space === "pa") {
      const page = kvm.mem.page(Number(c.at));
      if (!page) throw new DebugError(`${what} is not host memory`);
      const o = Number(c.at & 0xfffn);
      out.set(page.u8.subarray(o, o + c.n), c.off);
      continue;
    }
    const ipa = toCanonical(vcpu, level, space, c.at);
    out.set(slotFor(kvm, ipa, c.n, what).readBytes(ipa, c.n), c.off);
  }
  return out;
}

/** Write `bytes` at `addr` in `space` (all pages are checked before anything is written). */
export function writeGuestMemory(vcpu: KvmVcpu, level: Level, space: AddressSpace, addr: bigint, bytes: Uint8Array): void {
  checkLength(bytes.length);
  const kvm = vcpu.kvm;
  const writes: (() => void)[] = [];
  for (const c of pageChunks(addr, bytes.length)) {
    const data = bytes.subarray(c.off, c.off + c.n);
    const what = `${spaceName(space, level)} ${hex(c.at)}`;
    if (space === "pa") {
      const page = kvm.mem.page(Number(c.at));
      if (!page) throw new DebugError(`${what} is not host memory`);
      writes.push(() => kvm.mem.writeBytes(Number(c.at), data));
      continue;
    }
    const ipa = toCanonical(vcpu, level, space, c.at);
    const slot = slotFor(kvm, ipa, c.n, what);
    writes.push(() => slot.writeBytes(ipa, data));
  }
  for (const w of writes) w();
  // Code may have changed under decoded instructions and cached translations.
  for (const v of kvm.vcpus) v.cpu.flushDecodeCache();
}
