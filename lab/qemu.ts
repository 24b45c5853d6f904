// Runs guest images on qemu-system-aarch64 and collects what they print on the PL011 UART: the
// reference nvlab's runs are compared with (`nvlab run --qemu`, `nvlab exec --qemu`, test/qemu/).

import { spawn, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Image, Section } from "../asm/image.ts";
import { QEMU_BINARY, qemuCommand, qemuLoaderArgs, type QemuMachine, type QemuSemihosting } from "./qemu_command.ts";

export interface QemuRunResult {
  /** Everything the guest wrote to the PL011 UART. */
  console: string;
  /** QEMU ended by itself (PSCI SYSTEM_OFF) before the timeout. */
  exitedCleanly: boolean;
  /**
   * QEMU's exit status when it ended by itself (0 after PSCI SYSTEM_OFF, whatever its code; a
   * semihosting SYS_EXIT's code); null when it was stopped.
   */
  status: number | null;
  /** QEMU was stopped because its console had settled (see QemuSpawnOptions.settle). */
  settled: boolean;
  /** The QEMU command line that was run (for reports). */
  command: string[];
  stderr: string;
}

export interface QemuSpawnOptions {
  timeoutMs: number;
  /**
   * Stop QEMU early once its console has nothing more to say: it equals `expected` (or has left it)
   * and `quietMs` pass without output. A guest that ends in a loop or an unvectored exception (an
   * `nvlab exec` program at `brk #0`) never powers off on QEMU.
   */
  settle?: { expected: string; quietMs: number };
  /** QEMU's working directory: its semihosting opens files relative to it. */
  cwd?: string;
}

/** Why QEMU could not be started. */
export class QemuMissingError extends Error {
  constructor(readonly binary: string) {
    super(`${binary} is not installed (or not on PATH): --qemu needs it (Debian: apt-get install qemu-system-arm)`);
    this.name = "QemuMissingError";
  }
}

const availability = new Map<string, boolean>();

/** Whether `binary` (qemu-system-aarch64 on PATH by default) can be run here. */
export function qemuAvailable(binary = QEMU_BINARY): boolean {
  let ok = availability.get(binary);
  if (ok === undefined) {
    const r = spawnSync(binary, ["--version"], { encoding: "utf8", timeout: 10_000 });
    ok = r.status === 0;
    availability.set(binary, ok);
  }
  return ok;
}

/**
 * Where a section's bytes start mattering on QEMU: past the ELF headers GNU ld maps with the code
 * (-Ttext without a linker script puts them 64 KiB below it) and the zeros after them. QEMU's RAM
 * starts zeroed, and on virt its first MiB holds QEMU's device tree, which they would collide with.
 */
function loadedFrom(section: Section): number {
  let at = section.headerBytes ?? 0;
  if (at === 0) return 0;
  while (at < section.bytes.length && section.bytes[at] === 0) at++;
  return at;
}

/**
 * One image as raw files, one a section, and the loader arguments that place each where nvlab
 * places it: the same bytes at the same addresses whatever the image came from (an ELF moved by
 * @IPA included), and no file of zeros for the gap between sections far apart (an ELF's code and
 * its data at another p_paddr). Only an ELF's headers and notes stay out (below).
 */
async function writeImage(dir: string, tag: string, image: Image): Promise<string[]> {
  const args: string[] = [];
  for (const [i, section] of image.sections.entries()) {
    // An ELF's headers-and-notes segment (GNU ld puts the headers 64 KiB below -Ttext) holds nothing
    // the program runs, and on QEMU's virt it would collide with the device tree in RAM's first MiB.
    if (section.headersAndNotes) continue;
    const skip = loadedFrom(section);
    if (skip === section.bytes.length) continue;
    const file = join(dir, `${tag}-${i}.bin`);
    await writeFile(file, section.bytes.subarray(skip));
    args.push(...qemuLoaderArgs(file, section.base + BigInt(skip)));
  }
  return args;
}

export interface QemuImagesOptions extends QemuSpawnOptions {
  /** The image the CPU starts in (L1, or the `exec` program): its entry is CPU 0's PC. */
  first: Image;
  /** More images (L2s), each at the addresses it was assembled for. */
  others?: readonly Image[];
  memoryMiB: number;
  vcpus?: number;
  machine?: QemuMachine;
  /** More QEMU arguments, after the machine's and before the loaders. */
  extraArgs?: readonly string[];
  /**
   * Serve Arm semihosting (its console on the UART's stdout). QEMU opens files relative to its
   * working directory: `root`, or an empty directory when nvlab gives the guest no host files.
   */
  semihosting?: QemuSemihosting & { root: string | null };
}

/** Boot assembled images on QEMU and collect the console until it powers off, settles or times out. */
export async function runImagesOnQemu(o: QemuImagesOptions): Promise<QemuRunResult> {
  const dir = await mkdtemp(join(tmpdir(), "nvlab-qemu-"));
  try {
    const loaders = await writeImage(dir, "first", o.first);
    for (const [i, image] of (o.others ?? []).entries()) loaders.push(...(await writeImage(dir, `image-${i}`, image)));
    const command = qemuCommand([...(o.extraArgs ?? []), ...loaders], o.first.entry, o.memoryMiB, o.vcpus, o.machine, o.semihosting);
    let cwd = o.cwd;
    if (o.semihosting !== undefined) {
      cwd = o.semihosting.root ?? join(dir, "root");
      if (o.semihosting.root === null) await mkdir(cwd);
    }
    return await runQemuCommand(command, { ...o, ...(cwd === undefined ? {} : { cwd }) });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Run a QEMU command line, its stdout being the guest's UART. */
export function runQemuCommand(command: string[], o: QemuSpawnOptions): Promise<QemuRunResult> {
  const [program, ...args] = command;
  if (program === undefined) return Promise.reject(new Error("runQemuCommand: empty command"));
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"], ...(o.cwd === undefined ? {} : { cwd: o.cwd }) });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let settled = false;
    let quiet: NodeJS.Timeout | undefined;
    const stop = (): void => {
      child.kill("SIGKILL");
    };
    const watchSettle = (): void => {
      const s = o.settle;
      if (s === undefined) return;
      if (quiet !== undefined) clearTimeout(quiet);
      // Still on the way to the expected output: keep waiting (up to the timeout).
      if (stdout !== s.expected && s.expected.startsWith(stdout)) return;
      quiet = setTimeout(() => {
        settled = true;
        stop();
      }, s.quietMs);
    };
    child.stdout.setEncoding("latin1");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      stdout += d;
      watchSettle();
    });
    child.stderr.on("data", (d: string) => (stderr += d));
    watchSettle();
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, o.timeoutMs);
    child.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (quiet !== undefined) clearTimeout(quiet);
      reject(e.code === "ENOENT" ? new QemuMissingError(program) : e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (quiet !== undefined) clearTimeout(quiet);
      const ended = !timedOut && !settled;
      resolve({ console: stdout, exitedCleanly: ended && code === 0, status: ended ? code : null, settled, command, stderr });
    });
  });
}
