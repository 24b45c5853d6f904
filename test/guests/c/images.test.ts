// The C guests' images as the guest ABI wants them (guests/README.md): each ELF entered at its first
// byte at the link address, its raw .bin exactly its loadable bytes from that address, L1 vectors
// 2K-aligned, .bss outside the raw image, and every image below its limit.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildCGuests, C_BUILD_DIR, C_L1S, cGuestsBuildable } from "./c_guests.ts";

const canBuild = cGuestsBuildable();

interface Load {
  offset: number;
  paddr: bigint;
  filesz: number;
  memsz: number;
}

/** e_entry and the PT_LOAD program headers of a little-endian ELF64 file. */
function elfLoads(bytes: Uint8Array): { entry: bigint; machine: number; loads: Load[] } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const phoff = Number(v.getBigUint64(0x20, true));
  const phentsize = v.getUint16(0x36, true);
  const loads: Load[] = [];
  for (let i = 0; i < v.getUint16(0x38, true); i++) {
    const at = phoff + i * phentsize;
    if (v.getUint32(at, true) !== 1) continue;
    loads.push({
      offset: Number(v.getBigUint64(at + 8, true)),
      paddr: v.getBigUint64(at + 24, true),
      filesz: Number(v.getBigUint64(at + 32, true)),
      memsz: Number(v.getBigUint64(at + 40, true)),
    });
  }
  return { entry: v.getBigUint64(0x18, true), machine: v.getUint16(0x12, true), loads };
}

/** Symbol values from the cross toolchain's nm. */
function symbols(elf: string): Map<string, bigint> {
  const r = spawnSync("aarch64-linux-gnu-nm", [elf], { encoding: "utf8" });
  const map = new Map<string, bigint>();
  for (const line of r.stdout.split("\n")) {
    const [value, , name] = line.split(" ");
    if (value && name) map.set(name, BigInt(`0x${value}`));
  }
  return map;
}

const IMAGES: { name: string; base: bigint; limit: bigint; l1: boolean }[] = [
  ...[...C_L1S, "hyp_c_smp"].map((name) => ({ name, base: 0x4010_0000n, limit: 0x43f0_0000n, l1: true })),
  ...["hello_c", "trap_c"].map((name) => ({ name, base: 0x4000_0000n, limit: 0x4010_0000n, l1: false })),
];

describe.skipIf(!canBuild)("C guest images", () => {
  beforeAll(() => buildCGuests(), 120_000);

  for (const { name, base, limit, l1 } of IMAGES) {
    it(`${name}: AArch64 ELF entered at ${base.toString(16)}, the .bin is its loadable bytes, .bss beyond it`, () => {
      const elf = new Uint8Array(readFileSync(join(C_BUILD_DIR, `${name}.elf`)));
      const bin = new Uint8Array(readFileSync(join(C_BUILD_DIR, `${name}.bin`)));
      const { entry, machine, loads } = elfLoads(elf);
      expect(machine).toBe(183); // EM_AARCH64
      expect(entry).toBe(base);
      const sym = symbols(join(C_BUILD_DIR, `${name}.elf`));
      expect(sym.get("_start")).toBe(base);
      expect(loads.length).toBeGreaterThan(0);
      for (const seg of loads) {
        const at = Number(seg.paddr - base);
        expect(at).toBeGreaterThanOrEqual(0);
        expect(bin.subarray(at, at + seg.filesz)).toEqual(elf.subarray(seg.offset, seg.offset + seg.filesz));
        expect(seg.paddr + BigInt(seg.memsz)).toBeLessThanOrEqual(limit);
      }
      // .bss is not in the raw image: crt0 zeroes it, so its start is at or past the image's end.
      expect(sym.get("__bss_start")! - base).toBeGreaterThanOrEqual(BigInt(bin.length));
      expect(sym.get("__bss_end")! % 16n).toBe(0n);
      if (l1) {
        expect(sym.get("l1_vectors")! % 2048n).toBe(0n);
        expect(sym.get("__stack_top")).toBe(0x4400_0000n);
      } else {
        expect(sym.get("__stack_top")).toBe(0x4100_0000n);
      }
    });
  }
});
