// The QEMU command line that boots nvlab's guest images on the `virt` machine with EL2 enabled
// (L1 at real EL2), or without it for bare EL1 programs: the reference nvlab's runs are compared with
// (lab/qemu.ts), and what `nvlab build` tells a user to run.

import { hex } from "../emulator/types.ts";

export const QEMU_BINARY = "qemu-system-aarch64";

/** Most CPUs the guests use on QEMU: beyond 8, virt's GICv2 default would put CPUs in Aff1 clusters. */
export const QEMU_MAX_VCPUS = 8;

/** `-device loader` arguments placing a raw binary at `addr`. */
export function qemuLoaderArgs(file: string, addr: bigint): string[] {
  return ["-device", `loader,file=${file},addr=${hex(addr)},force-raw=on`];
}

/** `-device loader` arguments setting CPU 0's PC: with virtualization=on and no EL3 it starts at EL2. */
export function qemuEntryArgs(entry: bigint): string[] {
  return ["-device", `loader,addr=${hex(entry)},cpu-num=0`];
}

/**
 * The machine the images boot on: "el2" is `virt,virtualization=on`, where CPU 0 starts at EL2 (an
 * L1 hypervisor, `nvlab run`); "el1" is plain `virt`, where it starts at EL1 (`nvlab exec`).
 */
export type QemuMachine = "el2" | "el1";

/** Arm semihosting on QEMU: the argument words SYS_GET_CMDLINE returns, joined by spaces. */
export interface QemuSemihosting {
  args: readonly string[];
}

/** A QemuOpts value: a comma inside one is written twice. */
function optValue(text: string): string {
  return text.replaceAll(",", ",,");
}

/**
 * Where the guest's output goes: the PL011 on stdout; with semihosting, the semihosting console
 * too, through one multiplexed stdio chardev, so the two interleave as they do on nvlab's single
 * console (QEMU's default would send semihosting output to stderr).
 */
function consoleArgs(semihosting: QemuSemihosting | undefined): string[] {
  if (semihosting === undefined) return ["-serial", "stdio"];
  const args = semihosting.args.map((a) => `,arg=${optValue(a)}`).join("");
  return [
    "-chardev", "stdio,mux=on,id=con0",
    "-serial", "chardev:con0",
    "-semihosting-config", `enable=on,target=native,chardev=con0${args}`,
  ];
}

/** The whole command line for images placed by `loaderArgs`, entered at `entry`. */
export function qemuCommand(
  loaderArgs: string[],
  entry: bigint,
  memoryMiB: number,
  vcpus = 1,
  machine: QemuMachine = "el2",
  semihosting?: QemuSemihosting,
): string[] {
  if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > QEMU_MAX_VCPUS) {
    throw new Error(`vcpus must be an integer from 1 to ${QEMU_MAX_VCPUS} (got ${vcpus})`);
  }
  return [
    QEMU_BINARY,
    "-M", machine === "el2" ? "virt,virtualization=on" : "virt",
    "-cpu", "max",
    "-m", `${memoryMiB}M`,
    "-smp", String(vcpus),
    "-nographic", "-monitor", "none", ...consoleArgs(semihosting),
    "-nodefaults",
    ...loaderArgs,
    ...qemuEntryArgs(entry),
  ];
}
