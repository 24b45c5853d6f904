// `nvlab run`: boot an L1 guest hypervisor (and the L2 images it runs) under L0 and report the
// console output, the exit and L0's metrics.

import { runVm, type RunVmOptions } from "../lab/run.ts";
import { KVM_MAX_VCPUS } from "../hypervisor/vm.ts";
import { buildRunVm, type ImageSpec, type RunCommandOptions } from "../lab/run_command.ts";
import { UsageError } from "./errors.ts";
import { parseAddress, parseNumber } from "./parse.ts";

export { L1_DEFAULT_IPA, tuningConfig, type ImageSpec, type RunCommandOptions } from "../lab/run_command.ts";

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

/** The images assembled and the VM described (lab/run_command.ts), a directory named as an image refused as the CLI words it. */
export async function runCommandVm(o: RunCommandOptions): Promise<RunVmOptions> {
  try {
    return await buildRunVm(o);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EISDIR") throw new UsageError(`cannot read ${(e as { file?: string }).file ?? o.l1.file}: is a directory`);
    throw e;
  }
}

export async function runCommand(o: RunCommandOptions) {
  return runVm(await runCommandVm(o));
}

// The exit-status mapping lives in lab/ so the GDB stub reports the same status as `nvlab run`.
export { GUEST_STATUS_MAX, guestCodeIsStatus, guestExitStatus, guestStatusNote, RUN_STATUS, runExitCode } from "../lab/exit_status.ts";
