// A guest image from a file, whatever made it: `.S`/`.s` source for the embedded assembler, an
// ELF64 AArch64 executable from a cross toolchain, or a raw binary. Each becomes the same Image
// (sections at addresses, labels, entry point), so loaders, the layout check, the debugger's
// symbols, traces and the GDB stub's symbol file treat them alike.

import { assemble } from "../asm/assembler.ts";
import { readElf, isElf } from "../asm/elf_reader.ts";
import { readInputBytes } from "../asm/host_files.ts";
import { extname } from "../asm/source_path.ts";
import { BUILD_ID_HINT, type Image, ImageFileError, lowestBase, relocateImage } from "../asm/image.ts";
import { hex } from "../emulator/types.ts";

/** How a file is read: `auto` tells ELF by its magic, raw by `.bin`, and assembles the rest. */
export type ImageFormat = "auto" | "asm" | "elf" | "raw";

export const IMAGE_FORMATS: readonly ImageFormat[] = ["auto", "asm", "elf", "raw"];

export interface ImageFileOptions {
  /**
   * Where the image's lowest byte goes. Source and raw binaries are placed there; an ELF is moved
   * there as a whole (an L2 linked at its nested IPA loaded at a canonical one). Without it an ELF
   * stays at its own physical addresses and the others go to `defaultBase`.
   */
  at?: bigint;
  defaultBase: bigint;
  format?: ImageFormat;
  /**
   * Whether the CPU starts at the image's entry point (exec, an L1; the default). An L2 is entered
   * where its L1 says, so an ELF L2 whose e_entry lies outside its code is not refused.
   */
  entered?: boolean;
}

/** The format `auto` resolves to for these bytes and this name. */
export function detectFormat(bytes: Uint8Array, path: string): Exclude<ImageFormat, "auto"> {
  if (isElf(bytes)) return "elf";
  if (extname(path).toLowerCase() === ".bin") return "raw";
  return "asm";
}

/** A raw binary: one section of the file's bytes at `base`, entered at its first byte. */
export function rawImage(bytes: Uint8Array, file: string, base: bigint): Image {
  if (bytes.length === 0) throw new ImageFileError(file, "an empty raw binary: nothing to load");
  return { file, sections: [{ name: "raw", base, bytes }], symbols: new Map(), constants: new Map(), entry: base, format: "raw" };
}

/**
 * A format forced on a file that is plainly something else: the source text loaded as machine
 * code, or an ELF's headers fed to the assembler, would only fail later and obscurely.
 */
function checkForcedFormat(bytes: Uint8Array, path: string, format: Exclude<ImageFormat, "auto">): void {
  const source = /\.s$/i.test(path);
  if (format === "raw" && source) {
    throw new ImageFileError(path, "--format raw reads a file as machine code, but this is assembly source (.S); give raw images their own name (or --format auto)");
  }
  if (format === "raw" && isElf(bytes)) {
    throw new ImageFileError(path, "--format raw would load this ELF file's headers as code; leave the format to auto (ELF by its magic) or convert it with objcopy -O binary");
  }
  if (format === "asm" && isElf(bytes)) throw new ImageFileError(path, "--format asm: this is an ELF file, not assembly source");
}

/** Read `path` as an Image placed as `opts` says. */
export async function loadImageFile(path: string, opts: ImageFileOptions): Promise<Image> {
  const bytes = await readInputBytes(path);
  const format = opts.format === undefined || opts.format === "auto" ? detectFormat(bytes, path) : opts.format;
  checkForcedFormat(bytes, path, format);
  const base = opts.at ?? opts.defaultBase;
  switch (format) {
    case "raw":
      return rawImage(bytes, path, base);
    case "elf": {
      const image = readElf(bytes, path);
      if (image.entryProblem !== undefined && opts.entered !== false) throw new ImageFileError(path, image.entryProblem);
      if (opts.at === undefined) return image;
      // The image moves by its lowest byte: a stray note segment far below the code would be that byte.
      const note = image.sections.find((s) => s.headersAndNotes);
      if (note !== undefined && image.sections.length > 1) {
        throw new ImageFileError(path, `cannot be moved to ${hex(opts.at)} as a whole: its segment ${note.name} at ${hex(note.base)} would lead the move; ${BUILD_ID_HINT}`);
      }
      return relocateImage(image, opts.at - lowestBase(image));
    }
    case "asm":
      return assemble(new TextDecoder().decode(bytes), { file: path, base });
  }
}
