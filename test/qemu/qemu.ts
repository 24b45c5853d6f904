// Runs nvlab guest images on QEMU's `virt` machine with EL2 enabled, where L1 is at real EL2: the
// reference the nvlab hypervisor is compared against (same images, same console output).

import { isAbsolute, resolve } from "node:path";
import { assembleFile } from "../../asm/assembler.ts";
import type { Image } from "../../asm/image.ts";
import { QEMU_BINARY, qemuCommand } from "../../lab/qemu_command.ts";
import { qemuAvailable, runImagesOnQemu, type QemuRunResult } from "../../lab/qemu.ts";
import { PAIR_MEMORY_MIB, REPO_ROOT } from "./pairs.ts";

export { QEMU_BINARY, qemuAvailable, qemuCommand, type QemuRunResult };
/** Canonical IPA where L1 is loaded and entered (guests/README.md). */
export const L1_IPA = 0x4010_0000n;

export interface QemuImage {
  path: string;
  ipa: bigint;
}

export interface QemuRunOptions {
  /** L1 source; a relative path is taken from the repository root (as in pairs.ts). */
  l1: string;
  /** Load address of L1; defaults to L1_IPA. */
  l1Ipa?: bigint;
  l2: QemuImage[];
  timeoutMs?: number;
  /** Guest RAM in MiB (the virt machine's RAM starts at 0x4000_0000); default 256, nvlab's default. */
  memoryMiB?: number;
  /** Optional hook to patch an assembled image before it is written (e.g. a count word). */
  patch?: (image: Image, which: "l1" | number) => void;
  /** CPUs of the machine (`-smp`); default 1. CPU n has MPIDR_EL1 Aff0 = n, only CPU 0 starts. */
  vcpus?: number;
}

function fromRoot(path: string): string {
  return isAbsolute(path) ? path : resolve(REPO_ROOT, path);
}

/**
 * Assemble L1 and the L2 images (each at its IPA), boot them on QEMU with L1 entered at its image
 * base at EL2, and collect the console until QEMU powers off or the timeout kills it.
 */
export async function runOnQemu(opts: QemuRunOptions): Promise<QemuRunResult> {
  const l1 = await assembleFile(fromRoot(opts.l1), { base: opts.l1Ipa ?? L1_IPA });
  opts.patch?.(l1, "l1");
  const l2: Image[] = [];
  for (const [i, spec] of opts.l2.entries()) {
    const image = await assembleFile(fromRoot(spec.path), { base: spec.ipa });
    opts.patch?.(image, i);
    l2.push(image);
  }
  return runImagesOnQemu({
    first: l1,
    others: l2,
    memoryMiB: opts.memoryMiB ?? PAIR_MEMORY_MIB,
    vcpus: opts.vcpus,
    timeoutMs: opts.timeoutMs ?? 10_000,
  });
}
