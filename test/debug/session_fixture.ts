// Shared by the debugger tests: a DebugSession over a shipped L1/L2 pair, assembled and placed the
// way the end-to-end tests place them, next to the options a plain run of the same pair takes.

import type { RunVmOptions } from "../../lab/run.ts";
import type { VmConfig } from "../../hypervisor/vm.ts";
import { DebugSession } from "../../debug/session.ts";
import { assemblePair, E2E_MAX_STEPS, GUEST_MEMORY, type L2Spec } from "../e2e/harness.ts";

/** `check`: attach the invariant checker (RunVmOptions.check); the rest is VM configuration. */
export async function pairOptions(l1: string, l2: L2Spec[], opts: Partial<VmConfig> & { check?: boolean } = {}): Promise<RunVmOptions> {
  const images = await assemblePair(l1, l2);
  const { check, ...config } = opts;
  return { l1: images.l1, l2: images.l2, config: { memory: GUEST_MEMORY, ...config }, check, maxSteps: E2E_MAX_STEPS };
}

export async function openPair(l1: string, l2: L2Spec[], opts: Partial<VmConfig> & { check?: boolean } = {}): Promise<DebugSession> {
  return DebugSession.open({ vm: await pairOptions(l1, l2, opts) });
}

export const HYP = "guests/l1/hyp.S";
export const MULTI = "guests/l1/multi.S";
export const l2 = (name: string): string => `guests/l2/${name}.S`;
