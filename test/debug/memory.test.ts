// Guest memory by address space: names, reads through each stage, writes that are checked whole
// before any byte changes, and limits.

import { describe, expect, it } from "vitest";
import { l1Stage2Enabled, MAX_ACCESS, readCanonical64, readGuestMemory, readHost64, spaceName, writeGuestMemory } from "../../debug/memory.ts";
import { HYP, l2, openPair } from "./session_fixture.ts";

describe("guest memory", () => {
  it("names address spaces as the output says them", () => {
    expect(spaceName("va", "L2")).toBe("L2 VA");
    expect(spaceName("nipa", "L1")).toBe("nested IPA");
    expect(spaceName("ipa", "L1")).toBe("canonical IPA");
    expect(spaceName("pa", "L1")).toBe("host PA");
  });

  it("reads L1 memory whether or not L0 has backed the page yet, without backing it", async () => {
    const s = await openPair(HYP, [l2("hello")]);
    const kvm = s.kvm;
    // Nothing has run: L2's image sits in the memslot, not resident.
    expect(kvm.memslots[0]!.hostPa(0x4800_0000n)).toBeNull();
    const word = readGuestMemory(s.vcpu, "L1", "ipa", 0x4800_0000n, 4);
    expect(word).toEqual(new Uint8Array([0xc0, 0x00, 0x00, 0x10])); // adr x0, greeting
    expect(kvm.memslots[0]!.hostPa(0x4800_0000n)).toBeNull();
    expect(readCanonical64(kvm, 0x4800_0000n)).toBe(kvm.memslots[0]!.read(0x4800_0000n, 8));
    expect(readCanonical64(kvm, 0x100n)).toBe("not L1 RAM");
    expect(readHost64(kvm, 0x10n)).toBe("no host page");
    expect(readHost64(kvm, BigInt(kvm.mmu.pgt.pgdPa))).toBe(0n);
    expect(l1Stage2Enabled(s.vcpu)).toBe(false);
  });

  it("checks every page of a write before changing any byte", async () => {
    const s = await openPair(HYP, [l2("hello")]);
    const end = 0x4000_0000n + s.kvm.config.memory;
    const before = readGuestMemory(s.vcpu, "L1", "ipa", end - 4n, 4);
    expect(() => writeGuestMemory(s.vcpu, "L1", "ipa", end - 4n, new Uint8Array(8).fill(0xaa))).toThrow(/canonical IPA 0x50000000 is not L1 RAM/);
    expect(readGuestMemory(s.vcpu, "L1", "ipa", end - 4n, 4)).toEqual(before);
    writeGuestMemory(s.vcpu, "L1", "ipa", end - 4n, new Uint8Array(4).fill(0xaa));
    expect(readGuestMemory(s.vcpu, "L1", "ipa", end - 4n, 4)).toEqual(new Uint8Array(4).fill(0xaa));
  });

  it("limits one access to 1 MiB", async () => {
    const s = await openPair(HYP, [l2("hello")]);
    expect(readGuestMemory(s.vcpu, "L1", "ipa", 0x4000_0000n, 0)).toHaveLength(0);
    expect(() => readGuestMemory(s.vcpu, "L1", "ipa", 0x4000_0000n, MAX_ACCESS + 1)).toThrow(/out of range/);
    expect(() => readGuestMemory(s.vcpu, "L1", "ipa", 0x4000_0000n, 1.5)).toThrow(/out of range/);
  });
});
