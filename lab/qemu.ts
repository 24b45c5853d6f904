// Runs guest images on qemu-system-aarch64 and collects what they print on the PL011 UART: the
// reference nvlab's runs are compared with (`nvlab run --qemu`, `nvlab exec --qemu`, test/qemu/).

import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Image } from "../asm/image.ts";
import { rawBinary } from "../asm/raw_binary.ts";
import { QEMU_BINARY, qemuCommand, qemuLoaderArgs, type QemuMachine } from "./qemu_command.ts";

export interface QemuRunResult {
  /** Everything the guest wrote to the PL011 UART. */
  console: string;
  /** QEMU ended by itself (PSCI SYSTEM_OFF) before the timeout. */
  exitedCleanly: boolean;
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

/** One image written as a raw binary and the loader arguments that place it where it was assembled. */
async function writeImage(dir: string, tag: string, image: Image): Promise<string[]> {
  const raw = rawBinary(image);
  const file = join(dir, `${tag}.bin`);
  await writeFile(file, raw.bytes);
  return qemuLoaderArgs(file, raw.base);
}

export interface QemuImagesOptions extends QemuSpawnOptions {
  /** The image the CPU starts in (L1, or the `exec` program): its entry is CPU 0's PC. */
  first: Image;
  /** More images (L2s), each at the addresses it was assembled for. */
  others?: readonly Image[];
  memoryMiB: number;
  vcpus?: number;
  machine?: QemuMachine;
  /** More QEMU arguments, after the machine's and before the loaders (e.g. `-semihosting`). */
  extraArgs?: readonly string[];
}

/** Boot assembled images on QEMU and collect the console until it powers off, settles or times out. */
export async function runImagesOnQemu(o: QemuImagesOptions): Promise<QemuRunResult> {
  const dir = await mkdtemp(join(tmpdir(), "nvlab-qemu-"));
  try {
    const loaders = await writeImage(dir, "first", o.first);
    for (const [i, image] of (o.others ?? []).entries()) loaders.push(...(await writeImage(dir, `image-${i}`, image)));
    const command = qemuCommand([...(o.extraArgs ?? []), ...loaders], o.first.entry, o.memoryMiB, o.vcpus, o.machine);
    return await runQemuCommand(command, o);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Run a QEMU command line, its stdout being the guest's UART. */
export function runQemuCommand(command: string[], o: QemuSpawnOptions): Promise<QemuRunResult> {
  const [program, ...args] = command;
  if (program === undefined) return Promise.reject(new Error("runQemuCommand: empty command"));
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"] });
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
      resolve({ console: stdout, exitedCleanly: !timedOut && !settled && code === 0, settled, command, stderr });
    });
  });
}
