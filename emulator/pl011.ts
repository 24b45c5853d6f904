// Minimal PL011 UART (QEMU `virt` puts it at 0x0900_0000): a byte written to the data register is
// console output; the flag register always reports "transmit FIFO not full, receive FIFO empty" so
// polling guests never wait.

import type { MmioHandler } from "./memory.ts";

export const PL011_BASE = 0x0900_0000;
export const PL011_SIZE = 0x1000;

const UARTDR = 0x000;
const UARTFR = 0x018;
const FR_RXFE = 1 << 4;
const FR_TXFE = 1 << 7;
/** Bytes per String.fromCharCode call: well under any engine's limit on arguments. */
const TEXT_CHUNK = 0x2000;

export class Pl011 implements MmioHandler {
  private readonly out: number[] = [];

  constructor(private readonly onByte?: (byte: number) => void) {}

  read(offset: number): bigint {
    if (offset === UARTFR) return BigInt(FR_RXFE | FR_TXFE);
    return 0n;
  }

  write(offset: number, _size: number, value: bigint): void {
    if (offset !== UARTDR) return;
    const b = Number(value & 0xffn);
    this.out.push(b);
    this.onByte?.(b);
  }

  /** Everything written so far, as text: one character per byte (Latin-1). */
  text(): string {
    // Not TextDecoder("latin1"): that is windows-1252, which remaps 0x80..0x9f.
    let s = "";
    for (let i = 0; i < this.out.length; i += TEXT_CHUNK) s += String.fromCharCode(...this.out.slice(i, i + TEXT_CHUNK));
    return s;
  }
}
