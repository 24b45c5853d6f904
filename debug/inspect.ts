// Text views of L0's state for the debugger: registers, the nested MMUs, one MMU's revmap, the
// accelerator and the metrics. Each returns the lines a REPL command prints; the GDB stub's
// `monitor` commands reuse them.

import { EC_NAMES } from "../emulator/exception.ts";
import { hex } from "../emulator/types.ts";
import type { MetricsSnapshot } from "../hypervisor/metrics.ts";
import type { KvmS2Mmu } from "../hypervisor/nested.ts";
import type { KvmVcpu } from "../hypervisor/vcpu.ts";
import type { Kvm } from "../hypervisor/vm.ts";
import { DebugError } from "./errors.ts";
import { mmuSummaries, type MmuSummary } from "./maps.ts";
import type { FpRegisters, Registers } from "./session.ts";

const h16 = (v: bigint): string => hex(v, 16);

/** PSTATE fields: NZCV flags, DAIF mask, mode (EL and SP selection). */
export function describePstate(v: bigint, level: "L1" | "L2"): string {
  const flags = ["N", "Z", "C", "V"].map((f, i) => ((v >> BigInt(31 - i)) & 1n ? f : "-")).join("");
  const daif = ["D", "A", "I", "F"].map((f, i) => ((v >> BigInt(9 - i)) & 1n ? f : "-")).join("");
  const m = Number(v & 0xfn);
  const el = m >> 2;
  const sp = m === 0 ? "t" : m & 1 ? "h" : "t";
  const virtual = level === "L1" && el === 2 ? " (virtual)" : "";
  return `${flags} ${daif} EL${el}${sp}${virtual}`;
}

/** `regs`: the GPRs, SP/PC/PSTATE, the level, L2's EL1 context and L1's virtual EL2 registers. */
export function formatRegisters(r: Registers): string {
  const lines = [`level ${r.level}`];
  for (let i = 0; i < 31; i += 4) {
    lines.push(
      r.x
        .slice(i, i + 4)
        .map((v, j) => `${`x${i + j}`.padStart(3)} ${h16(v)}`)
        .join("  "),
    );
  }
  lines.push(` sp ${h16(r.sp)}   pc ${h16(r.pc)}`);
  lines.push(`cpsr ${hex(r.cpsr, 8)}  ${describePstate(r.cpsr, r.level)}`);
  lines.push("EL1 (L2's context):", ...pairs(r.el1));
  lines.push("virtual EL2 (L1's):", ...pairs(r.vel2));
  const esr = r.vel2.ESR_EL2;
  if (esr !== undefined && esr !== 0n) {
    const ec = Number((esr >> 26n) & 0x3fn);
    lines.push(`  (vESR_EL2 EC ${hex(ec)} ${EC_NAMES[ec] ?? "reserved"})`);
  }
  return lines.join("\n");
}

const h32 = (v: bigint): string => v.toString(16).padStart(32, "0");
const ROUNDING = ["RN", "RP", "RM", "RZ"];
const FPSR_FLAGS: readonly [string, number][] = [["QC", 27], ["IDC", 7], ["IXC", 4], ["UFC", 3], ["OFC", 2], ["DZC", 1], ["IOC", 0]];

/** FPCR's rounding mode and the FZ/DN/AHP controls, FPSR's set flags. */
function describeFp(fpcr: number, fpsr: number): string {
  const ctl = [ROUNDING[(fpcr >>> 22) & 3]!, ...["FZ", "DN", "AHP"].filter((_, i) => (fpcr >>> (24 + i)) & 1)];
  const flags = FPSR_FLAGS.filter(([, bit]) => (fpsr >>> bit) & 1).map(([n]) => n);
  return `fpcr ${hex(fpcr, 8)} (${ctl.join(" ")})  fpsr ${hex(fpsr, 8)} (${flags.join(" ") || "no flags"})`;
}

/** `regs v` / `regs fp`: V0-V31 as 128-bit hex (most significant first), FPCR and FPSR. */
export function formatFpRegisters(r: FpRegisters): string {
  const lines = [describeFp(r.fpcr, r.fpsr)];
  for (let i = 0; i < 32; i += 2) lines.push(r.v.slice(i, i + 2).map((v, j) => `${`v${i + j}`.padStart(3)} ${h32(v)}`).join("  "));
  return lines.join("\n");
}

/** `regs vN`: one V register in its lane views (as gdb's $vN.d/.s/.h/.b), integers and FP values. */
export function formatVector(n: number, v: bigint): string {
  const lanes = (bits: number): bigint[] => Array.from({ length: 128 / bits }, (_, i) => (v >> BigInt(i * bits)) & ((1n << BigInt(bits)) - 1n)).reverse();
  const buf = new DataView(new ArrayBuffer(8));
  const d = lanes(64).map((x) => (buf.setBigUint64(0, x), buf.getFloat64(0)));
  const f = lanes(32).map((x) => (buf.setUint32(0, Number(x)), buf.getFloat32(0)));
  const hexLanes = (bits: number): string => lanes(bits).map((x) => x.toString(16).padStart(bits / 4, "0")).join(" ");
  return [
    `v${n} ${h32(v)}`,
    `  .d ${hexLanes(64)}   (${d.join(", ")})`,
    `  .s ${hexLanes(32)}   (${f.join(", ")})`,
    `  .h ${hexLanes(16)}`,
    `  .b ${hexLanes(8)}`,
    "  (lanes listed from the highest)",
  ].join("\n");
}

function pairs(rec: Record<string, bigint>): string[] {
  const entries = Object.entries(rec);
  const out: string[] = [];
  for (let i = 0; i < entries.length; i += 3) {
    out.push("  " + entries.slice(i, i + 3).map(([k, v]) => `${k.padStart(14)} ${h16(v)}`).join("  "));
  }
  return out;
}

/** `mmus`: every nested MMU: L1's VTTBR/VTCR it shadows, hardware VMID, refcount, validity, entries. */
export function formatMmus(kvm: Kvm, vcpu: KvmVcpu): string {
  const lines = ["mmu  valid  vmid(L1)  hw-vmid  refcnt  entries  tables  L1 VTTBR_EL2        L1 VTCR_EL2   notes"];
  for (const m of mmuSummaries(kvm)) lines.push(mmuLine(m, vcpu));
  const canon = kvm.mmu;
  lines.push(`canonical: hw-vmid ${canon.hwVmid}, ${canon.pgt.leafCount} entries, ${canon.pgt.tablePages} table pages${vcpu.hwMmu === canon ? " (in use)" : ""}`);
  return lines.join("\n");
}

/** One MMU's row; "in use" is said of the vCPU the debugger shows. */
function mmuLine(m: MmuSummary, vcpu: KvmVcpu): string {
  const notes = m.inUseBy.includes(vcpu.index) ? ["in use", ...m.notes] : m.notes;
  return [
    `mmu${m.mmu}`.padEnd(4),
    (m.valid ? "yes" : "no").padEnd(6),
    (m.l1Vmid === null ? "-" : String(m.l1Vmid)).padEnd(9),
    String(m.hwVmid).padEnd(8),
    String(m.refcnt).padEnd(7),
    String(m.leaves).padEnd(8),
    String(m.tablePages).padEnd(7),
    h16(m.vttbr).padEnd(19),
    hex(m.vtcr).padEnd(13),
    notes.join(", "),
  ].join(" ").trimEnd();
}

/** The nested MMU named by `text` ("0", "mmu0"). */
export function mmuByName(kvm: Kvm, text: string): KvmS2Mmu {
  const m = /^(?:mmu)?(\d+)$/i.exec(text.trim());
  const mmu = m ? kvm.nestedMmus[Number(m[1])] : undefined;
  if (!mmu) throw new DebugError(`no shadow MMU '${text}' (there are ${kvm.nestedMmus.length}: mmu0..mmu${kvm.nestedMmus.length - 1})`);
  return mmu;
}

/** `revmap MMU`: what the unmap strategy records for the MMU (a revmap and its direct map). */
export function formatRevmap(kvm: Kvm, which: string, limit = 64): string {
  return kvm.unmap.mmuRecords(mmuByName(kvm, which), limit).join("\n");
}

/** `accel`: what the unmap strategy records for the whole VM (the accelerator tree). */
export function formatAccel(kvm: Kvm, limit = 64): string {
  return kvm.unmap.vmRecords(kvm, limit).join("\n");
}

/** `metrics`: L0's counters and samples, one per line. */
export function formatMetrics(m: MetricsSnapshot): string {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(m)) {
    if (Array.isArray(v)) lines.push(`${k.padEnd(30)} ${v.length > 16 ? `[${v.slice(0, 16).join(", ")}, … ${v.length} samples]` : `[${v.join(", ")}]`}`);
    else if (typeof v === "object") for (const [kk, vv] of Object.entries(v)) lines.push(`${`${k}.${kk}`.padEnd(30)} ${vv}`);
    else lines.push(`${k.padEnd(30)} ${v}`);
  }
  return lines.join("\n");
}
