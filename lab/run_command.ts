// The VM of `nvlab run` described from its options: images read and placed, strategy, checker,
// chaos and tuning turned into a VM configuration. The CLI and the lab page share it.

import type { Image } from "../asm/image.ts";
import type { Engine } from "../emulator/engine.ts";
import type { RunVmOptions } from "./run.ts";
import type { VmMonitor } from "../hypervisor/monitor.ts";
import type { CoalesceOrder } from "../hypervisor/coalesce.ts";
import { DEFAULT_SCHEDULE, type ScheduleConfig } from "../hypervisor/scheduler.ts";
import { DEFAULT_VM_CONFIG, type Kvm, type UnmapStrategyName, type VmConfig } from "../hypervisor/vm.ts";
import type { RevmapTlbi } from "../hypervisor/unmap/strategy.ts";
import { chaosMonitor } from "./chaos.ts";
import { type ImageFormat, loadImageFile } from "./image_file.ts";

export const L1_DEFAULT_IPA = 0x4010_0000n;

export interface ImageSpec {
  file: string;
  ipa: bigint | null;
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
  // An ELF without @IPA stays at its own physical addresses; source and raw binaries go to `ipa`.
  const placed = { ...(spec.ipa === null ? {} : { at: spec.ipa }), ...(format === undefined ? {} : { format }) };
  return { image: await loadImageFile(spec.file, { ...placed, defaultBase: fallback, entered }), ipa };
}

/** The images assembled and the VM described: everything up to running it (also for the debugger). */
export async function buildRunVm(o: RunCommandOptions): Promise<RunVmOptions> {
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
