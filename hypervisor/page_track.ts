// Write tracking of L1's stage-2 table pages. Each descriptor L0 reads when it walks L1's stage-2
// for a shadow fault makes its page (the canonical gfn) write-tracked, as x86 KVM's shadow MMU
// tracks the guest's page-table pages (kvm_slot_page_track_add_page, KVM_PAGE_TRACK_WRITE). A
// guest store into a tracked page, from any vCPU, by L1 or L2, interpreted or translated, becomes
// an `s2-table-write` event (kvm_page_track_write's track_write): the descriptor before and after,
// who stored it and where, and what L0's walk made of the table. KVM/arm64 tracks nothing here (it
// relies on L1's TLBIs); the events serve the lab's provenance queries (lab/why.ts).
//
// Stores into a tracked page are diverted to `Page.written` (emulator/memory.ts), which runs
// before the bytes change: the old descriptor is read there, and the new one once the store is
// done, at the next tracked store or when the run loop gets control back (`flush`). Tracking
// follows the gfn, not the host page: the memslot re-attaches it when a reclaimed table page
// comes back on another host page.

import { type Page, PAGE_SIZE, type PageWriteTrack, type StoreSource } from "../emulator/memory.ts";
import { join64 } from "../emulator/types.ts";
import type { CanonicalIpa, HostPa, NestedIpa } from "./addr.ts";
import type { GfnWriteTrack } from "./memslot.ts";
import type { S2WalkVisitor } from "./nested_walk.ts";
import type { Kvm } from "./vm.ts";

/** What L0's last walk through a tracked page made of it. */
interface TrackedTable {
  /** Lookup level of the table. */
  level: number;
  /** Nested IPA translated by the page's first descriptor, and log2 of the range each one translates. */
  inputBase: number;
  shift: number;
}

/** A store into a tracked page whose new bytes are not read yet: one descriptor it touches. */
interface PendingWrite {
  readonly page: Page;
  /** Canonical IPA of the descriptor, and its offset in the page. */
  readonly ipa: number;
  readonly off: number;
  readonly table: TrackedTable;
  readonly old: bigint;
  readonly size: number;
  readonly vcpu: number;
  readonly level: "L1" | "L2";
  readonly pc: bigint;
  readonly va: bigint;
  readonly step: number;
}

const DESC_BYTES = 8;

export class KvmPageTrack implements PageWriteTrack, GfnWriteTrack, S2WalkVisitor {
  /** Canonical IPA of each tracked page → what L0's walk made of it. */
  private readonly tables = new Map<number, TrackedTable>();
  /** Host page number → canonical IPA of the tracked page it backs now. */
  private readonly pageIpa = new Map<number, number>();
  private readonly pending: PendingWrite[] = [];

  constructor(private readonly kvm: Kvm) {}

  /** Pages tracked (resident or not). */
  get size(): number {
    return this.tables.size;
  }

  /** Whether the page holding canonical `ipa` is write-tracked. */
  isTracked(ipa: bigint): boolean {
    return this.tables.has(Number(ipa & ~BigInt(PAGE_SIZE - 1)));
  }

  /** The nested walk read a descriptor (S2WalkVisitor): track its page, and remember the table's place. */
  descriptorRead(descAddr: number, level: number, ipa: number, bottom: number): void {
    const off = descAddr % PAGE_SIZE;
    const gfnIpa = descAddr - off;
    const span = 2 ** bottom;
    const inputBase = ipa - (ipa % span) - (Math.floor(off / DESC_BYTES) * span);
    const t = this.tables.get(gfnIpa);
    if (t !== undefined) {
      // Every shadow fault walks: the common case is a table seen before, from the same place.
      if (t.level !== level || t.inputBase !== inputBase || t.shift !== bottom) Object.assign(t, { level, inputBase, shift: bottom });
      return;
    }
    this.tables.set(gfnIpa, { level, inputBase, shift: bottom });
    for (const slot of this.kvm.memslots) if (slot.trackWrites(gfnIpa, this)) return;
  }

  /** A tracked gfn got host page `pa` (GfnWriteTrack). */
  attach(ipa: number, pa: number): void {
    const page = this.kvm.mem.existingPage(pa);
    if (page === null) return;
    page.setTrack(this);
    this.pageIpa.set(page.pfn, ipa);
  }

  /** A tracked gfn lost host page `pa` (reclaimed: the page goes back to the pool). */
  detach(_ipa: number, pa: number): void {
    const page = this.kvm.mem.existingPage(pa);
    if (page === null) return;
    page.setTrack(null);
    this.pageIpa.delete(page.pfn);
  }

  /** A store into a tracked page, before it writes (PageWriteTrack). The host's own writes are not the guest's. */
  write(page: Page, off: number, size: number, by: StoreSource | null, vaLo: number, vaHi: number): void {
    if (by === null) return;
    // The previous store is done: its new bytes are in memory.
    this.flush();
    const gfnIpa = this.pageIpa.get(page.pfn);
    const table = gfnIpa === undefined ? undefined : this.tables.get(gfnIpa);
    if (gfnIpa === undefined || table === undefined) return;
    const vcpu = this.kvm.vcpus[by.index];
    const common = {
      page, table, size, vcpu: by.index, level: vcpu?.level ?? "L1", pc: by.getPC(), va: join64(vaLo, vaHi), step: this.kvm.steps,
    } as const;
    // An unaligned store may reach into the next descriptor (never past the page: stores that cross
    // one come byte by byte).
    for (let d = off - (off % DESC_BYTES); d < off + size; d += DESC_BYTES) {
      this.pending.push({ ...common, ipa: gfnIpa + d, off: d, old: readDescriptor(page, d) });
    }
  }

  /** Log the stores whose new bytes are not read yet (the run loop calls it when the CPU stops). */
  flush(): void {
    const p = this.pending;
    if (p.length === 0) return;
    for (const w of p) {
      const t = w.table;
      const span = 2 ** t.shift;
      this.kvm.events.add(
        {
          kind: "s2-table-write", vcpu: w.vcpu, level: w.level, pc: w.pc, va: w.va, ipa: BigInt(w.ipa) as CanonicalIpa,
          pa: BigInt(w.page.pfn * PAGE_SIZE + w.off) as HostPa, size: w.size, old: w.old, new: readDescriptor(w.page, w.off),
          tableLevel: t.level, nestedIpa: BigInt(t.inputBase + (w.off / DESC_BYTES) * span) as NestedIpa, span: BigInt(span),
        },
        w.step,
      );
    }
    p.length = 0;
  }
}

/** The little-endian descriptor at byte `off` of a page (big-endian L1 tables are shown as stored). */
function readDescriptor(page: Page, off: number): bigint {
  return join64(page.dv.getUint32(off, true), page.dv.getUint32(off + 4, true));
}
