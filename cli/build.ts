// `nvlab build` (and its older name `nvlab asm`): assemble a guest source into an ELF64 executable
// or one raw binary, so the same guest runs on QEMU or hardware, and say how QEMU loads it.

import { writeFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { assembleFile } from "../asm/assembler.ts";
import { rawBinary, RawBinaryError } from "../asm/raw_binary.ts";
import { imageElf } from "../debug/image_elf.ts";
import { hex } from "../emulator/types.ts";
import { qemuEntryArgs, qemuLoaderArgs } from "../lab/qemu_command.ts";
import { UsageError } from "./errors.ts";

export const BUILD_FORMATS = ["elf", "raw"] as const;
export type BuildFormat = (typeof BUILD_FORMATS)[number];

/** Output extensions that name a format (anything else needs --format). */
const FORMAT_OF_EXTENSION: Record<string, BuildFormat> = { ".elf": "elf", ".bin": "raw", ".raw": "raw", ".img": "raw" };

export interface BuildCommandOptions {
  file: string;
  /** Output path; default: the source's name with `.elf` or `.bin`, in the current directory. */
  out?: string;
  base: bigint;
  /** Default: from `out`'s extension, else `fallback`. */
  format?: BuildFormat;
  /** The format without --format or a telling extension (`build`: elf; `asm`: raw). */
  fallback: BuildFormat;
  /** `asm` wrote raw binaries under any name before `build` existed: an unknown extension keeps that. */
  anyExtension?: boolean;
}

export interface BuildCommandResult {
  out: string;
  format: BuildFormat;
  /** Bytes written. */
  size: number;
  entry: bigint;
  /** What to tell the user: what was written and the QEMU arguments that load it. */
  text: string;
}

/** The default output: `guests/l1/hyp.S` → `hyp.bin` (or `hyp.elf`). */
export function defaultOutputName(file: string, format: BuildFormat = "raw"): string {
  const name = basename(file);
  return (extname(name) ? name.slice(0, -extname(name).length) : name) + (format === "elf" ? ".elf" : ".bin");
}

/** The format: --format, else the output's extension, else the command's default. */
export function buildFormat(o: Pick<BuildCommandOptions, "out" | "format" | "fallback" | "anyExtension">): BuildFormat {
  if (o.format !== undefined) return o.format;
  if (o.out === undefined) return o.fallback;
  const ext = extname(o.out).toLowerCase();
  const known = FORMAT_OF_EXTENSION[ext];
  if (known !== undefined) return known;
  if (o.anyExtension) return o.fallback;
  throw new UsageError(`cannot tell the output format from ${o.out}: name it .elf or .bin, or give --format elf|raw`);
}

export async function buildCommand(o: BuildCommandOptions): Promise<BuildCommandResult> {
  const format = buildFormat(o);
  const image = await assembleFile(o.file, { base: o.base });
  const out = o.out ?? defaultOutputName(o.file, format);
  if (format === "elf") {
    if (image.sections.length === 0) throw new UsageError(`${image.file}: the image is empty (no section has any bytes)`);
    const bytes = imageElf(image);
    await write(out, bytes);
    const ranges = image.sections.map((s) => `${hex(s.base)}..${hex(s.base + BigInt(s.bytes.length))}`);
    const text = [
      `${out}: ELF64 AArch64 executable, ${bytes.length} bytes, segments ${ranges.join(", ")}, entry ${hex(image.entry)}, ${image.symbols.size} symbols`,
      `QEMU loads it with: -device loader,file=${out}`,
      `and, for the image the CPU starts in (L1), with its entry: -device loader,file=${out},cpu-num=0`,
    ].join("\n");
    return { out, format, size: bytes.length, entry: image.entry, text };
  }
  let raw;
  try {
    raw = rawBinary(image);
  } catch (e) {
    if (e instanceof RawBinaryError) throw new UsageError(e.message);
    throw e;
  }
  await write(out, raw.bytes);
  const end = raw.base + BigInt(raw.bytes.length);
  const text = [
    `${out}: ${raw.bytes.length} bytes for ${hex(raw.base)}..${hex(end)}, entry ${hex(raw.entry)}`,
    `QEMU loads it with: ${qemuLoaderArgs(out, raw.base).join(" ")}`,
    `and, for the image the CPU starts in (L1): ${qemuEntryArgs(raw.entry).join(" ")}`,
  ].join("\n");
  return { out, format, size: raw.bytes.length, entry: raw.entry, text };
}

async function write(out: string, bytes: Uint8Array): Promise<void> {
  try {
    await writeFile(out, bytes);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot write ${out}: ${code === "EISDIR" ? "is a directory" : code === "ENOENT" ? "no such directory" : (code ?? String(e))}`);
  }
}
