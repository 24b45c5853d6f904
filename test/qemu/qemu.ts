// Runs nvlab guest images on QEMU's `virt` machine with EL2 enabled, where L1 is at real EL2: the
// reference the nvlab hypervisor is compared against (same images, same console output).

import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { assembleFile } from "../../asm/assembler.ts";
import type { Image } from "../../asm/image.ts";
import { rawBinary } from "../../asm/raw_binary.ts";
import { QEMU_BINARY, qemuCommand, qemuLoaderArgs } from "../../lab/qemu_command.ts";
import { PAIR_MEMORY_MIB, REPO_ROOT } from "./pairs.ts";

export { QEMU_BINARY, qemuCommand };
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

export interface QemuRunResult {
  /** Everything the guest wrote to the PL011 UART. */
  console: string;
  /** QEMU ended by itself (PSCI SYSTEM_OFF) before the timeout. */
  exitedCleanly: boolean;
  /** The QEMU command line that was run (for reports). */
  command: string[];
  stderr: string;
}

function fromRoot(path: string): string {
  return isAbsolute(path) ? path : resolve(REPO_ROOT, path);
}

let available: boolean | undefined;

/** Whether qemu-system-aarch64 can be run here. */
export function qemuAvailable(): boolean {
  if (available === undefined) {
    const r = spawnSync(QEMU_BINARY, ["--version"], { encoding: "utf8", timeout: 10_000 });
    available = r.status === 0;
  }
  return available;
}

/** Write `image` as one raw binary (as `nvlab asm` does) and return the loader arguments placing it. */
async function writeImage(dir: string, tag: string, image: Image): Promise<string[]> {
  const raw = rawBinary(image);
  const file = join(dir, `${tag}.bin`);
  await writeFile(file, raw.bytes);
  return qemuLoaderArgs(file, raw.base);
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
  const dir = await mkdtemp(join(tmpdir(), "nvlab-qemu-"));
  try {
    const loaders = await writeImage(dir, "l1", l1);
    for (const [i, image] of l2.entries()) loaders.push(...(await writeImage(dir, `l2-${i}`, image)));
    const command = qemuCommand(loaders, l1.entry, opts.memoryMiB ?? PAIR_MEMORY_MIB, opts.vcpus);
    return await runCommand(command, opts.timeoutMs ?? 10_000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runCommand(command: string[], timeoutMs: number): Promise<QemuRunResult> {
  const [program, ...args] = command;
  if (program === undefined) return Promise.reject(new Error("runCommand: empty command"));
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("latin1");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (d: string) => (stdout += d));
    child.stderr.on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ console: stdout, exitedCleanly: !timedOut && code === 0, command, stderr });
    });
  });
}
