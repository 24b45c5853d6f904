// Real guest pairs for the benchmarks: L1 at the canonical L1 IPA, L2 #0 at its window (the guest
// ABI in guests/README.md), a 32-bit word of the L2 image patched by symbol, run to SYSTEM_OFF by
// runVm and timed from boot to power-off.

import { runVm, type RunVmResult } from "../../lab/run.ts";
import type { VmMonitor } from "../../hypervisor/monitor.ts";
import type { Kvm, VmConfig } from "../../hypervisor/vm.ts";
import { assembleGuest, withWords } from "../../lab/fixtures/guest_images.ts";

/** guests/README.md: L1's image base, L2 #0's window, and the RAM every shipped pair needs. */
const L1_IPA = 0x4010_0000n;
const L2_IPA = 0x4800_0000n;
const PAIR_MEMORY = 256n << 20n;

export interface PairRun {
  seconds: number;
  result: RunVmResult;
  /** Shadow leaves installed (one `shadow-fault` event each), when `countInstalls` was asked for. */
  installs: number | null;
  /**
   * With `timeL2`: from L1's first ERET into L2 to L2's last exit (its exit call), the wall time and
   * the instructions retired (L2's, and L1's handling of L2's stage-2 faults in between). VM
   * creation and L1's boot are outside it.
   */
  l2Window: { seconds: number; steps: number } | null;
}

/** Run L1 `l1` with L2 `l2` (repository paths), the L2 word `patch.symbol` set to `patch.value`. */
export async function runPair(
  l1: string,
  l2: string,
  patch: { symbol: string; value: number },
  config: Partial<VmConfig>,
  opts: { countInstalls?: boolean; maxSteps?: number; timeL2?: boolean } = {},
): Promise<PairRun> {
  const l1Image = await assembleGuest(l1, L1_IPA);
  const l2Image = withWords(await assembleGuest(l2, L2_IPA), { [patch.symbol]: patch.value });
  let installs = 0;
  const window = { t0: 0n, t1: 0n, s0: -1, s1: -1 };
  const monitors = opts.countInstalls || opts.timeL2
    ? (kvm: Kvm): VmMonitor[] => {
        kvm.events.subscribe((e) => {
          if (e.kind === "shadow-fault") installs++;
          if (!opts.timeL2) return;
          const d = e.data;
          if (d.kind === "eret" && d.to === "L2" && window.s0 < 0) [window.t0, window.s0] = [process.hrtime.bigint(), e.step];
          else if (d.kind === "exit" && d.level === "L2") [window.t1, window.s1] = [process.hrtime.bigint(), e.step];
        });
        return [];
      }
    : undefined;
  const t0 = process.hrtime.bigint();
  const result = runVm({ l1: l1Image, l2: [{ image: l2Image, ipa: L2_IPA }], config: { memory: PAIR_MEMORY, ...config }, maxSteps: opts.maxSteps ?? 2_000_000_000, monitors });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (result.outcome.kind !== "system-off" || result.outcome.code !== 0) {
    throw new Error(`${l1} + ${l2} did not power off cleanly: ${result.outcome.kind}${result.outcome.kind === "system-off" ? ` code ${result.outcome.code}` : ""}\n${result.console}`);
  }
  const l2Window = opts.timeL2 && window.s0 >= 0 && window.s1 > window.s0 ? { seconds: Number(window.t1 - window.t0) / 1e9, steps: window.s1 - window.s0 } : null;
  return { seconds, result, installs: opts.countInstalls ? installs : null, l2Window };
}
