// `nvlab asm`: assemble a guest source into a raw binary for QEMU's generic loader (or any loader
// that takes a file and an address), and say how to load it.

import { writeFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { assembleFile } from "../asm/assembler.ts";
import { rawBinary, RawBinaryError } from "../asm/raw_binary.ts";
import { hex } from "../emulator/types.ts";
import { qemuEntryArgs, qemuLoaderArgs } from "../lab/qemu_command.ts";
import { UsageError } from "./errors.ts";

export interface AsmCommandOptions {
  file: string;
  /** Output path; default: the source's name with `.bin`, in the current directory. */
  out?: string;
  base: bigint;
}

export interface AsmCommandResult {
  out: string;
  base: bigint;
  size: number;
  entry: bigint;
  /** What to tell the user: the range written and the QEMU arguments that load it. */
  text: string;
}

/** The default output: `guests/l1/hyp.S` → `hyp.bin`. */
export function defaultBinaryName(file: string): string {
  const name = basename(file);
  return (extname(name) ? name.slice(0, -extname(name).length) : name) + ".bin";
}

export async function asmCommand(o: AsmCommandOptions): Promise<AsmCommandResult> {
  const image = await assembleFile(o.file, { base: o.base });
  let raw;
  try {
    raw = rawBinary(image);
  } catch (e) {
    if (e instanceof RawBinaryError) throw new UsageError(e.message);
    throw e;
  }
  const out = o.out ?? defaultBinaryName(o.file);
  try {
    await writeFile(out, raw.bytes);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot write ${out}: ${code === "EISDIR" ? "is a directory" : code === "ENOENT" ? "no such directory" : (code ?? String(e))}`);
  }
  const end = raw.base + BigInt(raw.bytes.length);
  const text = [
    `${out}: ${raw.bytes.length} bytes for ${hex(raw.base)}..${hex(end)}, entry ${hex(raw.entry)}`,
    `QEMU loads it with: ${qemuLoaderArgs(out, raw.base).join(" ")}`,
    `and, for the image the CPU starts in (L1): ${qemuEntryArgs(raw.entry).join(" ")}`,
  ].join("\n");
  return { out, base: raw.base, size: raw.bytes.length, entry: raw.entry, text };
}
