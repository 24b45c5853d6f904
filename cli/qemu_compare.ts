// `--qemu` for `nvlab run` and `nvlab exec`: the same images also booted on qemu-system-aarch64
// (L1 at real EL2, or the exec program at EL1) and the two consoles compared.

import type { Image } from "../asm/image.ts";
import { unifiedDiff } from "../lab/console_diff.ts";
import { qemuAvailable, QemuMissingError, runImagesOnQemu } from "../lab/qemu.ts";
import { QEMU_BINARY, QEMU_MAX_VCPUS, type QemuMachine } from "../lab/qemu_command.ts";
import { RUN_STATUS } from "../lab/exit_status.ts";
import { UsageError } from "./errors.ts";

/** Exit status when the consoles differ: `run` reserves one beside its own, `exec` has few. */
export const QEMU_DIFFERS_STATUS = { run: RUN_STATUS.consoleDiffers, exec: 4 } as const;

/** Default --qemu-timeout, in seconds: QEMU runs the shipped pairs in well under a second each. */
export const QEMU_DEFAULT_TIMEOUT_S = 10;

/** How long QEMU's console must stay quiet once it matches (or has left) nvlab's before QEMU is stopped. */
const SETTLE_QUIET_MS = 1000;

export interface QemuComparison {
  same: boolean;
  /** What the guest printed on QEMU. */
  console: string;
  /** `diff -u` of nvlab's console against QEMU's; "" when they agree. */
  diff: string;
  /**
   * How QEMU ended: powered off (PSCI SYSTEM_OFF), exited with a non-zero status (a semihosting
   * SYS_EXIT), stopped once its console settled, or killed at the timeout.
   */
  ended: "system-off" | "exited" | "settled" | "timeout";
  /** QEMU's exit status when it ended by itself. */
  status: number | null;
  /** How the exit codes disagree (a semihosting exit code), or null. */
  exitDiffers: string | null;
  command: string[];
}

/** Refuse --qemu up front, before nvlab's own run, when QEMU cannot be started. */
export function requireQemu(vcpus = 1): void {
  if (!qemuAvailable()) throw new UsageError(new QemuMissingError(QEMU_BINARY).message);
  if (vcpus > QEMU_MAX_VCPUS) throw new UsageError(`--qemu: at most ${QEMU_MAX_VCPUS} vCPUs (the guests address CPUs by MPIDR Aff0 alone; QEMU's virt puts more in Aff1 clusters)`);
}

/** `--qemu-timeout SECONDS` as milliseconds. */
export function parseQemuTimeout(text: string): number {
  const s = Number(text);
  if (!Number.isFinite(s) || s <= 0 || s > 3600) throw new UsageError(`--qemu-timeout: ${text} is not a number of seconds from 0 to 3600`);
  return Math.round(s * 1000);
}

export interface CompareOptions {
  first: Image;
  others: readonly Image[];
  memory: bigint;
  vcpus: number;
  machine: QemuMachine;
  nvlabConsole: string;
  timeoutMs: number;
  /** More QEMU arguments for options both sides must share. */
  extraArgs?: readonly string[];
  /** Arm semihosting on QEMU too: the command line's words and the directory files are opened in. */
  semihosting?: { args: string[]; root: string | null };
  /**
   * nvlab's exit code, for a QEMU that exits with one (semihosting SYS_EXIT): `known` when nvlab's
   * run ended by a semihosting exit (exec), so QEMU must exit with the same code; otherwise (run,
   * where PSCI SYSTEM_OFF and a semihosting exit look alike) only a non-zero QEMU status is compared.
   */
  exitCode?: { nvlab: number; known: boolean };
}

/** Why QEMU's exit status disagrees with nvlab's exit code, or null. */
export function exitCodeDifference(expected: CompareOptions["exitCode"], status: number | null): string | null {
  if (expected === undefined || status === null) return null;
  // A process exit status keeps the low 8 bits of the code, on QEMU as in any program.
  const code = expected.nvlab & 0xff;
  if (status === code || (!expected.known && status === 0)) return null;
  return `the exit code differs: nvlab ${expected.nvlab}, ${QEMU_BINARY} exit status ${status}`;
}

export async function compareWithQemu(o: CompareOptions): Promise<QemuComparison> {
  const r = await runImagesOnQemu({
    first: o.first,
    others: o.others,
    memoryMiB: Number((o.memory + (1n << 20n) - 1n) >> 20n),
    vcpus: o.vcpus,
    machine: o.machine,
    timeoutMs: o.timeoutMs,
    settle: { expected: o.nvlabConsole, quietMs: SETTLE_QUIET_MS },
    ...(o.extraArgs === undefined ? {} : { extraArgs: o.extraArgs }),
    ...(o.semihosting === undefined ? {} : { semihosting: o.semihosting }),
  });
  const diff = unifiedDiff(o.nvlabConsole, r.console, "nvlab", QEMU_BINARY);
  const exitDiffers = exitCodeDifference(o.exitCode, r.status);
  const ended = r.exitedCleanly ? "system-off" : r.status !== null ? "exited" : r.settled ? "settled" : "timeout";
  return { same: diff === "" && exitDiffers === null, console: r.console, diff, ended, status: r.status, exitDiffers, command: r.command };
}

/** The lines printed after nvlab's own report. */
export function comparisonText(c: QemuComparison, timeoutMs: number): string {
  const timedOut = c.ended === "timeout" ? ` (QEMU was stopped at the ${timeoutMs / 1000} s timeout; raise --qemu-timeout?)` : "";
  const exited = c.ended === "exited" ? `, exit status ${c.status}` : "";
  if (c.same) return `qemu: same console as ${QEMU_BINARY} (${c.console.length} bytes)${exited}${timedOut}`;
  const lines = [];
  if (c.exitDiffers !== null) lines.push(`qemu: ${c.exitDiffers}`);
  if (c.diff !== "") lines.push(`qemu: the console differs from ${QEMU_BINARY}'s${timedOut}:\n${c.diff.trimEnd()}`);
  else lines.push(`qemu: same console as ${QEMU_BINARY} (${c.console.length} bytes)${timedOut}`);
  return lines.join("\n");
}

/** The --json field. */
export function comparisonJson(c: QemuComparison): Record<string, unknown> {
  return { same: c.same, ended: c.ended, status: c.status, exitDiffers: c.exitDiffers, console: c.console, diff: c.diff, command: c.command };
}
