// Watchpoints on memory, whoever reaches it. A watch names an address in one of the debugger's
// spaces (a VA of L1 or L2, a nested IPA, a canonical IPA, a host PA) and is resolved, when it is
// set, to the memory behind it: canonical IPA pages (L1's memory, followed through every host page
// that backs them over time, as the memslot hands them out and takes them back) or host pages.
// Every access that reaches that memory is seen: loads and stores of any vCPU at L1 or L2,
// interpreted or translated (a watched page never enters the CPUs' fast translation caches, so
// its accesses take the slow path that reports them, emulator/memory.ts PageWatch), and L0's own
// reads of it (its walks of L1's stage-2 tables, Kvm.l0Watch). The CPU's table walks are not
// reported, as an Arm watchpoint ignores them too.

import { PAGE_SIZE, type Page, type PageWatch, type AccessSource } from "../emulator/memory.ts";
import { hex } from "../emulator/types.ts";
import { faultIpaOf, gfnToMemslot } from "../hypervisor/mmu.ts";
import type { GfnWriteTrack } from "../hypervisor/memslot.ts";
import type { Kvm, L0MemoryWatch } from "../hypervisor/vm.ts";
import { type AddressSpace, spaceName } from "./memory.ts";
import type { Level } from "./symbols.ts";

/** What a watch stops on: writes, reads, or both (gdb's watch, rwatch, awatch). */
export type WatchAccess = "r" | "w" | "rw";

export const WATCH_ACCESSES: readonly WatchAccess[] = ["r", "w", "rw"];

export interface Watchpoint {
  id: number;
  space: AddressSpace;
  addr: bigint;
  len: number;
  access: WatchAccess;
  /** The level whose VA (or L1 context, for a nested IPA) the address was resolved in. */
  level: Level;
  /** `w L2 VA 0x40001000 (8 bytes) = canonical IPA 0x48101000` */
  label: string;
  hits: number;
}

/** One access that reached a watched address. */
export interface WatchHit {
  /** The access was a write (else a read). */
  write: boolean;
  /** Who made it: a guest level, or L0 itself (a walk of L1's stage-2 tables). */
  by: Level | "L0";
  /** The vCPU that made it (L0: the one whose exit it was handling). */
  vcpu: number;
  /** The instruction's PC and text (L0: the guest PC of the exit being handled; "" when unknown). */
  pc: bigint | null;
  insn: string;
  /** The VA of a guest access (null for L0's). */
  va: bigint | null;
  /** Address of the access in the watch's space, clamped into the watch. */
  space: AddressSpace;
  addr: bigint;
  /** Bytes accessed, and their value before and after (equal for a read). */
  size: number;
  old: bigint;
  new: bigint;
  /** L0's access in words, null for a guest access. */
  what: string | null;
}

/** A watch's piece inside one page: where it is in the watch's space and in memory. */
export interface WatchSegment {
  /** Address in the watch's space of the segment's first byte. */
  spaceAddr: bigint;
  /** The memory: a canonical IPA (L1 memory) or a host PA, both page-offset `off`.. */
  mem: { kind: "ipa"; ipa: number } | { kind: "pa"; pa: number };
  len: number;
}

interface Armed {
  readonly watch: Watchpoint;
  readonly seg: WatchSegment;
  /** Offset of the segment in its page. */
  readonly off: number;
}

/** A hit whose instruction has not completed yet: its new value is read once it has. */
export interface PendingHit {
  watch: Watchpoint;
  hit: WatchHit;
  /** Read the accessed bytes now (after the instruction): the hit's `new`. */
  finish(): void;
}

/**
 * The session's side: told of each hit (it decides whether the run stops there, and for a guest
 * access the CPU is then asked to stop once the instruction completes).
 */
export type WatchHitSink = (p: PendingHit) => boolean;

export class WatchSet implements PageWatch, GfnWriteTrack, L0MemoryWatch {
  private readonly watches = new Map<Watchpoint, WatchSegment[]>();
  /** Host page number → the watch segments on that page now. */
  private readonly pages = new Map<number, Armed[]>();

  constructor(
    private readonly kvm: Kvm,
    private readonly sink: WatchHitSink,
  ) {}

  get size(): number {
    return this.watches.size;
  }

  add(watch: Watchpoint, segments: WatchSegment[]): void {
    this.watches.set(watch, segments);
    this.rearm();
  }

  remove(watch: Watchpoint): void {
    this.watches.delete(watch);
    this.rearm();
  }

  /**
   * Put every watch on the host pages behind it now (after a change of watches, or after the VM
   * went back in time and its gfns may live on other host pages).
   */
  rearm(): void {
    for (const pfn of this.pages.keys()) {
      const page = this.kvm.mem.existingPage(pfn * PAGE_SIZE);
      if (page !== null) page.watch = null;
    }
    this.pages.clear();
    for (const [watch, segs] of this.watches) {
      for (const seg of segs) {
        const pa = seg.mem.kind === "pa" ? seg.mem.pa : this.hostPaOf(seg.mem.ipa);
        if (pa !== null) this.armOn(pa, { watch, seg, off: (seg.mem.kind === "pa" ? seg.mem.pa : seg.mem.ipa) % PAGE_SIZE });
      }
    }
    const on = this.watches.size > 0;
    this.kvm.l0Watch = on ? this : null;
    for (const slot of this.kvm.memslots) slot.backingWatch = on ? this : null;
    this.flushFastCaches();
  }

  /** A canonical gfn got host page `pa` (GfnWriteTrack): its watches go with it. */
  attach(ipa: number, pa: number): void {
    let armed = false;
    for (const [watch, segs] of this.watches) {
      for (const seg of segs) {
        if (seg.mem.kind !== "ipa" || seg.mem.ipa - (seg.mem.ipa % PAGE_SIZE) !== ipa) continue;
        this.armOn(pa, { watch, seg, off: seg.mem.ipa % PAGE_SIZE });
        armed = true;
      }
    }
    if (armed) this.flushFastCaches();
  }

  /** A canonical gfn lost host page `pa`: the page keeps only its watches by host PA. */
  detach(_ipa: number, pa: number): void {
    const pfn = Math.floor(pa / PAGE_SIZE);
    const list = this.pages.get(pfn);
    if (list === undefined) return;
    const left = list.filter((a) => a.seg.mem.kind === "pa");
    if (left.length > 0) this.pages.set(pfn, left);
    else {
      this.pages.delete(pfn);
      const page = this.kvm.mem.existingPage(pa);
      if (page !== null) page.watch = null;
    }
  }

  /** A CPU access to a watched page (PageWatch), before a store changes the bytes. */
  access(page: Page, off: number, size: number, write: boolean, by: AccessSource, va: bigint): void {
    const list = this.pages.get(page.pfn);
    if (list === undefined) return;
    for (const a of list) {
      if (!matches(a, off, size, write)) continue;
      const vcpu = this.kvm.vcpus[by.index];
      const hit = this.hit(a, page, off, size, write, {
        by: vcpu?.level ?? "L1", vcpu: by.index, pc: by.getPC(), insn: "", va, what: null,
      });
      if (this.sink(hit)) by.requestStop();
      return;
    }
  }

  /** L0 read L1 memory at canonical `ipa` (L0MemoryWatch). */
  l0Read(ipa: number, size: number, what: string): void {
    for (const [watch, segs] of this.watches) {
      for (const seg of segs) {
        const at = seg.mem.kind === "ipa" ? seg.mem.ipa : this.ipaOfHostPa(seg.mem.pa);
        if (at === null || watch.access === "w" || ipa >= at + seg.len || ipa + size <= at) continue;
        const pa = this.hostPaOf(ipa);
        const page = pa === null ? null : this.kvm.mem.existingPage(pa);
        const armed: Armed = { watch, seg, off: at % PAGE_SIZE };
        const vcpu = this.kvm.running;
        const exit = vcpu?.lastExit ?? null;
        const onWhat = exit !== null && (exit.ec === 0x20 || exit.ec === 0x24) && vcpu?.lastExitFromL2
          ? `${what} for L2's stage-2 abort at nested IPA ${hex(faultIpaOf(exit))}`
          : what;
        this.sink(this.hit(armed, page, ipa % PAGE_SIZE, size, false, {
          by: "L0", vcpu: vcpu?.index ?? 0, pc: exit?.elr ?? null, insn: "", va: null, what: onWhat,
        }));
        return;
      }
    }
  }

  private hit(
    a: Armed, page: Page | null, off: number, size: number, write: boolean,
    who: Pick<WatchHit, "by" | "vcpu" | "pc" | "insn" | "va" | "what">,
  ): PendingHit {
    const first = Math.max(off, a.off);
    const read = (): bigint => (page === null ? 0n : readBytes(page, off, size));
    const old = read();
    const hit: WatchHit = {
      write, ...who, space: a.watch.space, addr: a.seg.spaceAddr + BigInt(first - a.off), size, old, new: old,
    };
    return { watch: a.watch, hit, finish: () => (hit.new = write ? read() : old) };
  }

  private armOn(pa: number, armed: Armed): void {
    const page = this.kvm.mem.existingPage(pa);
    if (page === null) return;
    const pfn = page.pfn;
    const list = this.pages.get(pfn) ?? [];
    list.push(armed);
    this.pages.set(pfn, list);
    page.watch = this;
  }

  private hostPaOf(ipa: number): number | null {
    return gfnToMemslot(this.kvm, BigInt(ipa))?.hostPa(BigInt(ipa)) ?? null;
  }

  private ipaOfHostPa(pa: number): number | null {
    for (const slot of this.kvm.memslots) {
      const ipa = slot.ipaOfHostPa(pa);
      if (ipa !== null) return Number(ipa);
    }
    return null;
  }

  /** Pages in the CPUs' fast caches (and kept contexts) would bypass the watch: drop them all. */
  private flushFastCaches(): void {
    for (const v of this.kvm.vcpus) v.cpu.flushFastTlb();
  }
}

function matches(a: Armed, off: number, size: number, write: boolean): boolean {
  const acc = a.watch.access;
  if ((write && acc === "r") || (!write && acc === "w")) return false;
  return off < a.off + a.seg.len && a.off < off + size;
}

/** Little-endian value of `size` bytes at `off` (an access never crosses its page). */
function readBytes(page: Page, off: number, size: number): bigint {
  let v = 0n;
  for (let i = Math.min(size, PAGE_SIZE - off) - 1; i >= 0; i--) v = (v << 8n) | BigInt(page.u8[off + i]!);
  return v;
}

/** `w L2 VA 0x40001000 (8 bytes)` */
export function watchLabel(w: Pick<Watchpoint, "space" | "addr" | "len" | "access" | "level">): string {
  return `${w.access} ${spaceName(w.space, w.level)} ${hex(w.addr)} (${w.len} byte${w.len === 1 ? "" : "s"})`;
}

/** A hit in words, for consoles: who, where, what it did to which address. */
export function describeWatchHit(w: Watchpoint, h: WatchHit): string {
  const kind = h.write ? "write" : "read";
  const who = h.by === "L0"
    ? `L0, its ${h.what ?? "access"} (vCPU ${h.vcpu}${h.pc !== null ? `, guest PC ${hex(h.pc)}` : ""})`
    : `${h.by} on vCPU ${h.vcpu} at PC ${hex(h.pc ?? 0n)}${h.insn ? `  ${h.insn}` : ""}`;
  const where = `${spaceName(h.space, w.level)} ${hex(h.addr)}${h.va !== null && h.va !== h.addr ? ` (${h.by} VA ${hex(h.va)})` : ""}`;
  const value = h.write ? `old ${hex(h.old)} -> new ${hex(h.new)}` : `value ${hex(h.old)}`;
  return `watchpoint ${w.id} (${w.label}): ${kind} of ${h.size} byte${h.size === 1 ? "" : "s"} at ${where} by ${who}; ${value}`;
}
