// `nvlab run`: boot an L1 guest hypervisor (and the L2 images it runs) under L0 and report the
// console output, the exit and L0's metrics.

import type { Image } from "../asm/image.ts";
import type { Engine } from "../emulator/engine.ts";
import { runVm, type RunVmOptions } from "../lab/run.ts";
import type { VmMonitor } from "../hypervisor/monitor.ts";
import type { CoalesceOrder } from "../hypervisor/coalesce.ts";
import { DEFAULT_SCHEDULE, type ScheduleConfig } from "../hypervisor/scheduler.ts";
import { DEFAULT_VM_CONFIG, type Kvm, KVM_MAX_VCPUS, type UnmapStrategyName, type VmConfig } from "../hypervisor/vm.ts";
import type { RevmapTlbi } from "../hypervisor/unmap/strategy.ts";
import { UsageError } from "./errors.ts";
import { parseAddress, parseNumber } from "./parse.ts";
import { chaosMonitor } from "../lab/chaos.ts";
import { type ImageFormat, loadImageFile } from "../lab/image_file.ts";

export const L1_DEFAULT_IPA = 0x4010_0000n;

export interface ImageSpec {
  file: string;
  ipa: bigint | null;
}

/** `FILE.S@IPA` (IPA optional when `ipaRequired` is false). */
export function parseImageSpec(text: string, what: string, ipaRequired: boolean): ImageSpec {
  const at = text.lastIndexOf("@");
  if (at < 0) {
    if (ipaRequired) throw new UsageError(`${what}: '${text}' needs a load address: FILE.S@IPA (e.g. hello.S@0x48000000)`);
    return { file: text, ipa: null };
  }
  const file = text.slice(0, at);
  if (!file) throw new UsageError(`${what}: '${text}' has no file name before '@'`);
  return { file, ipa: parseAddress(text.slice(at + 1), `${what} load address`, 4n, "an image starts with an instruction, and instructions are 4-byte aligned") };
}

/** Most L1 RAM `--memory` accepts: L0 keeps a page-pool slot per 4 KiB of it. */
export const MAX_MEMORY = 64n << 30n;

/** `--memory`: a positive multiple of 4 KiB, at most MAX_MEMORY. */
export function parseMemory(text: string): bigint {
  const v = parseNumber(text, "--memory");
  if (v <= 0n || v % 0x1000n !== 0n) throw new UsageError(`--memory: ${text} is not a positive multiple of 4 KiB`);
  if (v > MAX_MEMORY) throw new UsageError(`--memory: ${text} is more than the 64G nvlab supports`);
  return v;
}

/** `--vcpus`: 1 to KVM's limit. */
export function parseVcpus(text: string): number {
  const v = parseNumber(text, "--vcpus");
  if (v < 1n || v > BigInt(KVM_MAX_VCPUS)) {
    throw new UsageError(`--vcpus: ${text} is out of range: a VM has 1 to ${KVM_MAX_VCPUS} vCPUs (KVM_MAX_VCPUS on arm64, also QEMU virt's limit)`);
  }
  return Number(v);
}

export interface RunCommandOptions {
  l1: ImageSpec;
  l2: ImageSpec[];
  /** How every image file is read (`--format`; default auto: ELF by magic, raw by .bin, else assembly). */
  format?: ImageFormat;
  memory: bigint;
  vcpus: number;
  maxSteps: number;
  /** L0's host page pool in 4 KiB pages (default: all of L1's RAM plus tables). */
  poolPages?: number;
  unmap?: UnmapStrategyName;
  directMap?: boolean;
  revmapTlbi?: RevmapTlbi;
  nestedMmus?: number;
  /** Attach the invariant checker (always on with chaos). */
  check?: boolean;
  chaos?: { seed: number; rate?: number };
  /** How the vCPUs are interleaved, the VM's seed, and how coalescing injections behave. */
  schedule?: Partial<ScheduleConfig>;
  seed?: number;
  coalesce?: CoalesceOrder;
  coalesceCost?: number;
  onConsole?: (byte: number) => void;
  onEvent?: (line: string) => void;
  /** Serve Arm semihosting at L1's and L2's EL1 (root, and the arguments after the L1 image's name). */
  semihosting?: { root: string | null; args?: string; input?: Uint8Array };
  /** More monitors for the run (a trace recorder), attached after chaos. */
  monitors?: (kvm: Kvm) => VmMonitor[];
  /** The engine every vCPU runs on (default: NVLAB_ENGINE, else the translator). */
  engine?: Engine;
}

/** The VM configuration the tuning options describe (scheduler, seed, coalescing). */
export function tuningConfig(o: Pick<RunCommandOptions, "schedule" | "seed" | "coalesce" | "coalesceCost">): Partial<VmConfig> {
  return {
    ...(o.schedule === undefined ? {} : { schedule: { ...DEFAULT_SCHEDULE, ...o.schedule } }),
    ...(o.seed === undefined ? {} : { seed: o.seed }),
    ...(o.coalesce === undefined && o.coalesceCost === undefined
      ? {}
      : { coalesce: { ...DEFAULT_VM_CONFIG.coalesce, ...(o.coalesce === undefined ? {} : { order: o.coalesce }), ...(o.coalesceCost === undefined ? {} : { costPerPage: o.coalesceCost }) } }),
  };
}

async function assembleAt(spec: ImageSpec, fallback: bigint, format: ImageFormat | undefined, entered: boolean): Promise<{ image: Image; ipa: bigint }> {
  const ipa = spec.ipa ?? fallback;
  try {
    // An ELF without @IPA stays at its own physical addresses; source and raw binaries go to `ipa`.
    const placed = { ...(spec.ipa === null ? {} : { at: spec.ipa }), ...(format === undefined ? {} : { format }) };
    return { image: await loadImageFile(spec.file, { ...placed, defaultBase: fallback, entered }), ipa };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EISDIR") throw new UsageError(`cannot read ${spec.file}: is a directory`);
    throw e;
  }
}

/** The images assembled and the VM described: everything up to running it (also for the debugger). */
export async function runCommandVm(o: RunCommandOptions): Promise<RunVmOptions> {
  const l1 = await assembleAt(o.l1, L1_DEFAULT_IPA, o.format, true);
  const l2 = [];
  for (const s of o.l2) l2.push(await assembleAt(s, 0n, o.format, false));
  return {
    l1: l1.image,
    l2,
    config: {
      memory: o.memory,
      vcpus: o.vcpus,
      ...(o.poolPages === undefined ? {} : { poolPages: o.poolPages }),
      ...(o.unmap === undefined ? {} : { unmap: o.unmap }),
      ...(o.directMap === undefined ? {} : { directMap: o.directMap }),
      ...(o.revmapTlbi === undefined ? {} : { revmapTlbi: o.revmapTlbi }),
      ...(o.nestedMmus === undefined ? {} : { nestedMmus: o.nestedMmus }),
      ...(o.engine === undefined ? {} : { engine: o.engine }),
      ...tuningConfig(o),
    },
    check: o.check === true || o.chaos !== undefined,
    maxSteps: o.maxSteps,
    onConsole: o.onConsole,
    onEvent: o.onEvent,
    ...(o.semihosting === undefined ? {} : {
      semihosting: {
        root: o.semihosting.root,
        cmdline: [o.l1.file, ...(o.semihosting.args ? [o.semihosting.args] : [])].join(" "),
        ...(o.semihosting.input === undefined ? {} : { input: o.semihosting.input }),
      },
    }),
    monitors: (kvm): VmMonitor[] => [...(o.chaos ? [chaosMonitor(kvm, o.chaos)] : []), ...(o.monitors?.(kvm) ?? [])],
  };
}

export async function runCommand(o: RunCommandOptions) {
  return runVm(await runCommandVm(o));
}

// The exit-status mapping lives in lab/ so the GDB stub reports the same status as `nvlab run`.
export { GUEST_STATUS_MAX, guestCodeIsStatus, guestExitStatus, guestStatusNote, RUN_STATUS, runExitCode } from "../lab/exit_status.ts";
