// Shared by the end-to-end tests: assemble a shipped L1/L2 pair the way the QEMU harness does
// (each image at its canonical IPA), optionally patch it, and boot it under nvlab's L0.

import type { Image } from "../../asm/image.ts";
import { runVm, type RunVmResult } from "../../lab/run.ts";
import { kvmResetVcpu } from "../../hypervisor/vcpu.ts";
import { Kvm, loadGuestImage, type VmConfig } from "../../hypervisor/vm.ts";
import { assembleGuest, withWords } from "../../lab/fixtures/guest_images.ts";
import { L1_IPA } from "../qemu/qemu.ts";
import { l2Ipa, PAIR_MEMORY_MIB } from "../qemu/pairs.ts";

export { L1_IPA };
export const GUEST_MEMORY = BigInt(PAIR_MEMORY_MIB) << 20n;
/** Every shipped pair ends within this many instructions (touch1000 needs ~0.2M). */
export const E2E_MAX_STEPS = 20_000_000;

export interface PairImages {
  l1: Image;
  l2: { image: Image; ipa: bigint }[];
}

/** An L2 source, loaded at L2 #n's window (l2Ipa(n)) unless an IPA is given. */
export type L2Spec = string | { path: string; ipa: bigint };

/** L1 at L1_IPA and each L2 at its IPA; `touchPages` patches every touch L2. */
export async function assemblePair(l1: string, l2: L2Spec[], opts: { touchPages?: number } = {}): Promise<PairImages> {
  const images: PairImages = { l1: await assembleGuest(l1, L1_IPA), l2: [] };
  for (const [n, spec] of l2.entries()) {
    const { path, ipa } = typeof spec === "string" ? { path: spec, ipa: l2Ipa(n) } : spec;
    let image = await assembleGuest(path, ipa);
    if (opts.touchPages !== undefined && image.symbols.has("touch_pages")) image = withWords(image, { touch_pages: opts.touchPages });
    images.l2.push({ image, ipa });
  }
  return images;
}

/** `guests/l1/<name>.S` and `guests/l2/<name>.S`. */
export const l1Path = (name: string): string => `guests/l1/${name}.S`;
export const l2Path = (name: string): string => `guests/l2/${name}.S`;

/** Run a pair to its end with runVm (as `nvlab run` does). */
export async function runPair(
  l1: string,
  l2: L2Spec[],
  opts: { touchPages?: number; config?: Partial<VmConfig>; check?: boolean; maxSteps?: number; onEvent?: (line: string) => void } = {},
): Promise<RunVmResult> {
  const images = await assemblePair(l1, l2, opts);
  return runVm({
    l1: images.l1,
    l2: images.l2,
    config: { memory: GUEST_MEMORY, ...opts.config },
    check: opts.check,
    maxSteps: opts.maxSteps ?? E2E_MAX_STEPS,
    onEvent: opts.onEvent,
  });
}

/**
 * A booted VM that has not run yet, for tests that step it in chunks (kvmArchVcpuRun) and act
 * between them, as runVm would have done up to its run loop.
 */
export async function bootPair(l1: string, l2: L2Spec[], config: Partial<VmConfig> = {}): Promise<Kvm> {
  const images = await assemblePair(l1, l2);
  const kvm = new Kvm({ memory: GUEST_MEMORY, ...config });
  const entry = loadGuestImage(kvm, images.l1);
  for (const x of images.l2) loadGuestImage(kvm, x.image, x.ipa);
  kvmResetVcpu(kvm.vcpus[0]!, entry);
  return kvm;
}
