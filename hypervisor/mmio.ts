// MMIO emulation from the data-abort syndrome (KVM: mmio.c io_mem_abort, decode_hsr): the PL011
// UART at canonical IPA 0x0900_0000. Only ISV=1 aborts carry what is needed (size, register,
// direction, sign extension); anything else cannot be emulated and is reported.

import { EC, ISS_ISV, ISS_S1PTW, ISS_SF, ISS_SSE, ISS_WNR, issOf, type Exit } from "../emulator/exception.ts";
import { PL011_BASE, PL011_SIZE } from "../emulator/pl011.ts";
import { hex } from "../emulator/types.ts";
import { GuestError } from "./errors.ts";
import type { Kvm } from "./vm.ts";
import type { KvmVcpu } from "./vcpu.ts";

export const UART_BASE = BigInt(PL011_BASE);
export const UART_SIZE = BigInt(PL011_SIZE);

const UARTDR = 0x000n;
const UARTFR = 0x018n;
const FR_RXFE = 1n << 4n;
const FR_TXFE = 1n << 7n;

/** PL011 register read: the flag register says "transmit empty, receive empty"; the rest read 0. */
function pl011Read(offset: bigint): bigint {
  return offset === UARTFR ? FR_TXFE | FR_RXFE : 0n;
}

/** PL011 register write: a byte to the data register is console output. */
function pl011Write(kvm: Kvm, offset: bigint, value: bigint): void {
  if (offset !== UARTDR) return;
  kvmConsoleByte(kvm, Number(value & 0xffn));
}

/** One byte of console output (the UART's, or a semihosting write to ":tt"). */
export function kvmConsoleByte(kvm: Kvm, byte: number): void {
  kvm.console += String.fromCharCode(byte);
  kvm.onConsole?.(byte);
}

/** A stage-1 table walk that read a page outside RAM: which table page, and for which access. */
function s1ptwReason(exit: Exit, level: "L1" | "L2", l1Ipa: bigint): string {
  const access = exit.ec === EC.IABT_LOW ? "an instruction fetch" : issOf(exit.esr) & ISS_WNR ? "a write" : "a read";
  const tablePage = l1Ipa & ~0xfffn;
  const nested = level === "L2" ? ` (nested IPA ${hex((exit.hpfar >> 4n) << 12n)})` : "";
  return (
    `stage-1 page-table walk for ${access} at VA ${hex(exit.far)} reads a table in the page at canonical IPA ` +
    `${hex(tablePage)}${nested}, which is not RAM: ${level}'s stage-1 tables point outside its memory`
  );
}

/**
 * io_mem_abort: emulate the access of a data abort at canonical IPA `l1Ipa` that no memslot backs,
 * then skip the instruction. Throws GuestError for an access that is not to a device or that
 * carries no valid instruction syndrome.
 */
export function ioMemAbort(vcpu: KvmVcpu, l1Ipa: bigint, exit: Exit): void {
  const iss = issOf(exit.esr);
  const level = vcpu.level;
  // From L2 the abort's IPA (HPFAR_EL2 and FAR[11:0]) is the nested IPA L1's stage-2 translated.
  const nestedIpa = level === "L2" ? `nested IPA ${hex(((exit.hpfar >> 4n) << 12n) | (exit.far & 0xfffn))}, ` : "";
  const where = `canonical IPA ${hex(l1Ipa)} (${nestedIpa}VA ${hex(exit.far)})`;
  const fail = (reason: string): GuestError => new GuestError({ reason, level });
  // A stage-1 walk's own read faults with the syndrome of the access it translates (an IABT for
  // a fetch), so S1PTW is told apart first: the page named is the table's, FAR the VA walked for.
  if (iss & ISS_S1PTW) throw fail(s1ptwReason(exit, level, l1Ipa));
  if (exit.ec !== EC.DABT_LOW) throw fail(`instruction fetch from ${where}, which is not RAM`);
  if (l1Ipa < UART_BASE || l1Ipa >= UART_BASE + UART_SIZE) {
    throw fail(`${iss & ISS_WNR ? "write" : "read"} access to ${where} outside RAM and devices`);
  }
  if (!(iss & ISS_ISV)) {
    throw fail(`MMIO access without a valid syndrome (pair/writeback?) at ${where}, ESR ${hex(exit.esr)}`);
  }
  const sizeLog2 = (iss >>> 22) & 3;
  const bits = 8n << BigInt(sizeLog2);
  const rt = (iss >>> 16) & 31;
  const offset = l1Ipa - UART_BASE;
  const cpu = vcpu.cpu;
  const write = (iss & ISS_WNR) !== 0;
  let value: bigint;
  if (write) {
    value = BigInt.asUintN(Number(bits), cpu.getX(rt));
    pl011Write(vcpu.kvm, offset, value);
  } else {
    value = BigInt.asUintN(Number(bits), pl011Read(offset));
    if (iss & ISS_SSE) value = BigInt.asUintN(64, BigInt.asIntN(Number(bits), value));
    cpu.setX(rt, iss & ISS_SF ? value : BigInt.asUintN(32, value));
  }
  vcpu.kvm.metrics.inc("mmioAccesses");
  vcpu.kvm.events.add({ kind: "mmio", device: "uart", write, offset, size: 1 << sizeLog2, rt, value });
  vcpu.skipInstr();
}
