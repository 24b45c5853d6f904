// `nvlab run`: boot an L1 guest hypervisor (and the L2 images it runs) under L0 and report the
// console output, the exit and L0's metrics.

import { assembleFile } from "../asm/assembler.ts";
import type { Image } from "../asm/image.ts";
import { runVm } from "../hypervisor/run.ts";
import { UsageError, parseNumber } from "./errors.ts";

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
  return { file, ipa: parseNumber(text.slice(at + 1), `${what} load address`) };
}

export interface RunCommandOptions {
  l1: ImageSpec;
  l2: ImageSpec[];
  memory: bigint;
  vcpus: number;
  maxSteps: number;
  onConsole?: (byte: number) => void;
  onEvent?: (line: string) => void;
}

async function assembleAt(spec: ImageSpec, fallback: bigint): Promise<{ image: Image; ipa: bigint }> {
  const ipa = spec.ipa ?? fallback;
  return { image: await assembleFile(spec.file, { base: ipa }), ipa };
}

export async function runCommand(o: RunCommandOptions) {
  const l1 = await assembleAt(o.l1, L1_DEFAULT_IPA);
  const l2 = [];
  for (const s of o.l2) l2.push(await assembleAt(s, 0n));
  return runVm({
    l1: l1.image,
    l2,
    config: { memory: o.memory, vcpus: o.vcpus },
    maxSteps: o.maxSteps,
    onConsole: o.onConsole,
    onEvent: o.onEvent,
  });
}

/** Process exit status for a run outcome: the guest's own code, or a fixed code for other ends. */
export function runExitCode(outcome: { kind: string; code?: number }): number {
  if (outcome.kind === "system-off") return (outcome.code ?? 0) & 0xff;
  if (outcome.kind === "budget") return 124;
  return 125;
}
