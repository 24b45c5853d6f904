import { describe, expect, it } from "vitest";
import { SZ_1G, SZ_2M, SZ_4K } from "../../hypervisor/memslot.ts";
import { kvmIsPermFault, kvmIsWriteFault, kvmLoggingMapSize, kvmLoggingProt, kvmPermFaultGranule } from "../../hypervisor/perm_fault.ts";
import { KVM_PGTABLE_PROT_R as R, KVM_PGTABLE_PROT_W as W, KVM_PGTABLE_PROT_X as X } from "../../hypervisor/pgtable.ts";
import { s2Abort } from "../../lab/fixtures/l1_stage2.ts";
import { makeVm, RAM_BASE } from "./stage2_fixture.ts";

describe("user_mem_abort's syndrome decisions", () => {
  it("the permission fault granule is the leaf size at the ESR's level", () => {
    expect([0x0f, 0x0e, 0x0d].map((fsc) => kvmPermFaultGranule(s2Abort(0n, { fsc, write: true })))).toEqual([SZ_4K, SZ_2M, SZ_1G]);
    expect(kvmIsPermFault(s2Abort(0n, { fsc: 0x0f }))).toBe(true);
    expect(kvmIsPermFault(s2Abort(0n, { fsc: 0x07 }))).toBe(false);
  });

  it("a stage-1 walk counts as a write only on a permission fault; an instruction fetch never does", () => {
    expect(kvmIsWriteFault(s2Abort(0n, { write: true }))).toBe(true);
    expect(kvmIsWriteFault(s2Abort(0n, { s1ptw: true }))).toBe(false);
    expect(kvmIsWriteFault(s2Abort(0n, { s1ptw: true, fsc: 0x0f }))).toBe(true);
    expect(kvmIsWriteFault(s2Abort(0n, { exec: true }))).toBe(false);
  });

  it("while the slot logs: page-sized, and writable only on a write fault", () => {
    const f = makeVm();
    expect(kvmLoggingMapSize(f.slot, SZ_2M)).toBe(SZ_2M);
    expect(kvmLoggingProt(f.slot, R | W | X, s2Abort(RAM_BASE))).toBe(R | W | X);
    f.slot.dirtyBitmap = new BigUint64Array(128);
    expect(kvmLoggingMapSize(f.slot, SZ_2M)).toBe(SZ_4K);
    expect(kvmLoggingMapSize(f.slot, SZ_4K)).toBe(SZ_4K);
    expect(kvmLoggingProt(f.slot, R | W | X, s2Abort(RAM_BASE))).toBe(R | X);
    expect(kvmLoggingProt(f.slot, R | W | X, s2Abort(RAM_BASE, { write: true }))).toBe(R | W | X);
  });
});
