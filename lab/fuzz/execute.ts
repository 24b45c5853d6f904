// One fuzz run: a scenario text parsed, prepared and run in this process, with whatever ended it —
// the guest, the budget, a monitor, or L0 itself failing — caught as an outcome to judge.

import { loadImageFile } from "../image_file.ts";
import type { Image } from "../../asm/image.ts";
import { HostError } from "../../hypervisor/errors.ts";
import type { Kvm } from "../../hypervisor/vm.ts";
import { type ChaosInjection, chaosOf } from "../chaos.ts";
import { runVm, type RunOutcome } from "../run.ts";
import { prepareParsedScenario } from "../scenario/run.ts";
import { parseScenario } from "../scenario/schema.ts";

/** How a fuzz run ended: as `nvlab run` reports it, or L0 failing (host error) or nvlab itself (internal error). */
export type FuzzOutcome = RunOutcome | { kind: "host-error"; message: string } | { kind: "internal-error"; message: string };

export interface Execution {
  outcome: FuzzOutcome;
  console: string;
  steps: number;
  /** Exits handled, over every vCPU. */
  exits: number;
  /** What the chaos monitor injected, when the scenario has chaos. */
  chaosLog: ChaosInjection[];
}

const images = new Map<string, Promise<Image>>();

/** Each guest image read once per process and placement (runs only read images). */
export function cachedAssemble(path: string, base: bigint, ownAddresses = false): Promise<Image> {
  const key = `${path}@${base}${ownAddresses ? "/own" : ""}`;
  let p = images.get(key);
  if (!p) images.set(key, (p = loadImageFile(path, { ...(ownAddresses ? {} : { at: base }), defaultBase: base })));
  return p;
}

function exitCount(kvm: Kvm | null): number {
  if (!kvm) return 0;
  return Object.values(kvm.metrics.snapshot().exits).reduce((a, b) => a + b, 0);
}

/** Run scenario `text` as if it were the file `file` (its image paths resolve from the file's folder). */
export async function executeScenario(text: string, file: string): Promise<Execution> {
  const s = parseScenario(text, file);
  let kvm: Kvm | null = null;
  const p = await prepareParsedScenario(s, file, { monitors: (k) => ((kvm = k), []) }, cachedAssemble);
  const end = (outcome: FuzzOutcome): Execution => {
    const k = kvm;
    return { outcome, console: k?.console ?? "", steps: k?.steps ?? 0, exits: exitCount(k), chaosLog: k ? [...(chaosOf(k)?.log ?? [])] : [] };
  };
  try {
    return end(runVm(p.vm).outcome);
  } catch (e) {
    if (e instanceof HostError) return end({ kind: "host-error", message: e.message });
    return end({ kind: "internal-error", message: e instanceof Error ? e.message : String(e) });
  }
}
