// A bare EL1 machine for picolibc programs with the MMU on: flat RAM identity-mapped as Normal
// memory by a one-level table the host writes before the first instruction. Compiled C code (and
// picolibc's own string and stdio routines) makes unaligned accesses and 8-byte-aligned 16-byte
// SIMD&FP accesses, which the architecture faults on in Device memory, what every data access is
// while the MMU is off.

import { loadImageFile } from "../../../lab/image_file.ts";
import { loadImage } from "../../../asm/image.ts";
import { Cpu, type Stop } from "../../../emulator/cpu.ts";
import { PhysMemory } from "../../../emulator/memory.ts";
import { PL011_BASE, PL011_SIZE, Pl011 } from "../../../emulator/pl011.ts";
import { Semihosting } from "../../../emulator/semihosting.ts";
import { pa } from "../../../emulator/types.ts";

/** Where the host puts the level-1 table (in RAM, above any image this test links). */
const TABLE = 0x4800_0000n;

export interface PicolibcRun {
  stop: Stop;
  console: string;
  steps: number;
  cpu: Cpu;
}

/** Identity map: 0..1 GiB Device-nGnRnE (the UART), 1..4 GiB Normal write-back. */
function enableMmu(cpu: Cpu, mem: PhysMemory): void {
  const bytes = new Uint8Array(4096);
  const dv = new DataView(bytes.buffer);
  const AF = 1n << 10n;
  dv.setBigUint64(0, 0n | AF | 1n, true); // AttrIndx 0: Device
  for (let i = 1; i < 4; i++) dv.setBigUint64(8 * i, (BigInt(i) << 30n) | (1n << 2n) | (3n << 8n) | AF | 1n, true);
  mem.writeBytes(pa(TABLE), bytes);
  cpu.writeSysReg("MAIR_EL1", 0xff00n);
  // T0SZ 25 (39-bit VA, starting at level 1), inner/outer WB, inner shareable, 4K, EPD1, 40-bit IPS.
  cpu.writeSysReg("TCR_EL1", 25n | (1n << 8n) | (1n << 10n) | (3n << 12n) | (1n << 23n) | (2n << 32n));
  cpu.writeSysReg("TTBR0_EL1", TABLE);
  cpu.writeSysReg("SCTLR_EL1", cpu.sr.SCTLR_EL1 | 1n | 4n | 0x1000n);
}

export async function runPicolibc(file: string, maxSteps: number): Promise<PicolibcRun> {
  const image = await loadImageFile(file, { defaultBase: 0x4010_0000n });
  const mem = new PhysMemory({ autoAllocate: true });
  const uart = new Pl011();
  mem.addMmio(PL011_BASE, PL011_SIZE, "pl011", uart);
  loadImage(image, (base, s) => mem.writeBytes(pa(base), s.bytes));
  const semihosting = new Semihosting({
    root: null,
    cmdline: file,
    heap: { heapBase: 0x4400_0000n, heapLimit: 0x4600_0000n, stackBase: 0x4700_0000n, stackLimit: 0x4600_0000n },
    console: (b) => uart.write(0, 1, BigInt(b)),
  });
  const cpu = new Cpu(mem, { stopOnBrk: true, stopOnUnvectoredEl1: true, stopOnWfi: true, semihosting });
  cpu.resetTo(image.entry);
  enableMmu(cpu, mem);
  try {
    const stop = cpu.run(maxSteps);
    return { stop, console: uart.text(), steps: cpu.steps, cpu };
  } finally {
    semihosting.closeAll();
  }
}
