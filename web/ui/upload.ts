// An image of the user's own (an ELF or a raw binary from a cross toolchain, or an assembly source)
// uploaded into the lab page, as `nvlab run --l1 FILE` / `--l2 FILE@IPA` takes it: which slot of
// the L1/L2 pair it replaces, the path the worker reads it under, and the read-only summary its
// tab shows. The worker tells the format as `--format auto` does (ELF by magic, raw by `.bin`, the
// rest assembled), so the path is chosen to make that agree with what the page detected. The helpers
// are pure (test/web/upload.test.ts); UploadForm is the Guests view's control.

import { byId, el } from "./dom.ts";
import { l2Ipa, type GuestPair } from "./catalog.ts";
import { hex } from "./address.ts";

export type UploadFormat = "elf" | "raw" | "asm";

/** Which image an upload replaces: L1, or L2 #index (index = the pair's L2 count adds one). */
export type UploadSlot = { level: "L1" } | { level: "L2"; index: number };

/** The most an upload may be: L1's RAM in the page (lab_vm.ts boots 256 MiB). */
export const MAX_UPLOAD_BYTES = 256 << 20;

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
const RAW_EXTENSIONS = /\.(bin|raw|img)$/i;
const SOURCE_EXTENSIONS = /\.(s|asm)$/i;

/** The format of an uploaded file: ELF by magic, raw or source by name, else text is source. */
export function uploadFormat(name: string, bytes: Uint8Array): UploadFormat {
  if (bytes.length >= 4 && ELF_MAGIC.every((b, i) => bytes[i] === b)) return "elf";
  if (RAW_EXTENSIONS.test(name)) return "raw";
  if (SOURCE_EXTENSIONS.test(name)) return "asm";
  return isText(bytes) ? "asm" : "raw";
}

/** UTF-8 with no NUL: what an assembly source is and a binary almost never is. */
function isText(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where the worker reads an upload: beside the shipped images of its level (so a source's
 * `.include "lib/…"` resolves as theirs do), never over a shipped file, and named `.bin` when raw
 * (the loader's auto format would otherwise assemble it).
 */
export function uploadPath(slot: UploadSlot, name: string, format: UploadFormat, shipped: (path: string) => boolean): string {
  const dir = slot.level === "L1" ? "guests/l1" : "guests/l2";
  let file = (name.split(/[\\/]/).pop() ?? "").replace(/[^\w.+-]/g, "_") || "image";
  if (format === "raw" && !/\.bin$/i.test(file)) file += ".bin";
  return shipped(`${dir}/${file}`) ? `${dir}/upload-${file}` : `${dir}/${file}`;
}

/** The IPA field's default for a slot: the guest ABI's window of L2 #n; L1 has none (see UploadForm). */
export function defaultIpaText(slot: UploadSlot): string {
  return slot.level === "L1" ? "" : groupedHex(l2Ipa(slot.index));
}

/** `0x4800_0000`: the IPA as guests/README.md writes them. */
export function groupedHex(v: bigint): string {
  const digits = v.toString(16);
  const groups: string[] = [];
  for (let end = digits.length; end > 0; end -= 4) groups.unshift(digits.slice(Math.max(0, end - 4), end));
  return "0x" + groups.join("_");
}

/** An IPA as typed: 0x-hex or decimal, `_` between digits allowed; an Error says what is wrong. */
export function parseIpa(text: string): bigint {
  const t = text.trim().replace(/_/g, "");
  if (!/^(0x[0-9a-f]{1,16}|\d{1,20})$/i.test(t)) throw new Error(`"${text.trim()}" is not an IPA: give 0x-hex (0x4800_0000) or decimal`);
  const v = BigInt(t);
  if (v >= 1n << 64n) throw new Error(`${text.trim()} is beyond 64 bits`);
  return v;
}

/** `pair` with the image of `slot` replaced by `path` (an L2 at `ipa`): the custom setup an upload makes. */
export function placeUpload(pair: GuestPair, slot: UploadSlot, path: string, ipa: bigint): GuestPair {
  if (slot.level === "L1") return { ...pair, name: "custom", l1: path };
  if (slot.index > pair.l2.length) throw new Error(`there is no L2 #${slot.index - 1} to add L2 #${slot.index} after`);
  const l2 = [...pair.l2];
  l2[slot.index] = { path, ipa };
  return { ...pair, name: "custom", l2 };
}

/** The select's label of a custom pair: its images' file names. */
export function customLabel(pair: GuestPair): string {
  const name = (p: string): string => p.slice(p.lastIndexOf("/") + 1);
  return `custom: ${name(pair.l1)} + ${pair.l2.map((i) => name(i.path)).join(", ")}`;
}

export function slotLabel(slot: UploadSlot): string {
  return slot.level === "L1" ? "L1" : `L2 #${slot.index}`;
}

// ------------------------------------------------------------------ the read-only tab

const DUMP_BYTES = 256;

/** What the tab of an uploaded binary shows: name, size, format, ELF headers if readable, first bytes. */
export function uploadSummary(path: string, bytes: Uint8Array): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const format = uploadFormat(name, bytes);
  const lines = [
    `${name}: uploaded ${format === "elf" ? "ELF" : format === "raw" ? "raw binary" : "source"}, ${bytes.length} bytes${bytes.length >= 1024 ? ` (${kib(bytes.length)} KiB)` : ""}`,
    `read by the worker as ${path}; read-only here: upload again to change it`,
    "",
  ];
  if (format === "elf") lines.push(...elfLines(bytes), "");
  lines.push(`first ${Math.min(DUMP_BYTES, bytes.length)} bytes:`, ...hexDump(bytes.subarray(0, DUMP_BYTES)));
  return lines.join("\n");
}

export function kib(n: number): string {
  return (n / 1024).toFixed(n < 10 * 1024 ? 1 : 0);
}

const PT_NAMES: Record<number, string> = { 0: "NULL", 1: "LOAD", 2: "DYNAMIC", 3: "INTERP", 4: "NOTE", 6: "PHDR", 7: "TLS" };
const MAX_PHDRS_SHOWN = 16;

/**
 * The ELF header's entry and program headers, read only as far as a summary needs: whether the
 * loader accepts the file is its own word, at boot.
 */
export function elfLines(bytes: Uint8Array): string[] {
  if (bytes.length < 64) return ["ELF header: truncated"];
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const cls = bytes[4] === 2 ? "ELF64" : "ELF32";
  if (cls !== "ELF64" || bytes[5] !== 1) return [`ELF header: ${cls}, ${bytes[5] === 1 ? "little" : "big"}-endian (the loader takes ELF64 little-endian)`];
  const type = v.getUint16(16, true);
  const machine = v.getUint16(18, true);
  const entry = v.getBigUint64(24, true);
  const phoff = Number(v.getBigUint64(32, true));
  const phentsize = v.getUint16(54, true);
  const phnum = v.getUint16(56, true);
  const out = [`ELF64 ${type === 2 ? "executable" : `type ${type}`}, machine ${machine === 183 ? "AArch64" : machine}, entry ${hex(entry)}`, `program headers: ${phnum}`];
  for (let i = 0; i < Math.min(phnum, MAX_PHDRS_SHOWN); i++) {
    const at = phoff + i * phentsize;
    if (phentsize < 56 || at + 56 > bytes.length) {
      out.push(`  #${i}: beyond the file`);
      break;
    }
    const pt = v.getUint32(at, true);
    const flags = v.getUint32(at + 4, true);
    const rwx = (flags & 4 ? "R" : "-") + (flags & 2 ? "W" : "-") + (flags & 1 ? "X" : "-");
    const paddr = v.getBigUint64(at + 24, true);
    const filesz = v.getBigUint64(at + 32, true);
    const memsz = v.getBigUint64(at + 40, true);
    out.push(`  #${i} ${(PT_NAMES[pt] ?? hex(BigInt(pt))).padEnd(7)} ${rwx} paddr ${hex(paddr)}  file ${hex(filesz)}  mem ${hex(memsz)}`);
  }
  if (phnum > MAX_PHDRS_SHOWN) out.push(`  … ${phnum - MAX_PHDRS_SHOWN} more`);
  return out;
}

/** `00000000  7f 45 4c 46 …  |.ELF…|`, 16 bytes a line. */
export function hexDump(bytes: Uint8Array): string[] {
  const out: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = [...bytes.subarray(at, at + 16)];
    const hexes = row.map((b) => b.toString(16).padStart(2, "0")).join(" ");
    const chars = row.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    out.push(`${at.toString(16).padStart(8, "0")}  ${hexes.padEnd(47)}  |${chars}|`);
  }
  return out;
}

// ------------------------------------------------------------------ the control

/** A file the user chose, and where it goes. */
export interface UploadChoice {
  slot: UploadSlot;
  /** The L2's IPA (L1 goes where `--l1 FILE` without an IPA goes). */
  ipa: bigint;
  name: string;
  bytes: Uint8Array;
}

/**
 * The Guests view's "Upload image…": a slot (L1, or L2 #n at an IPA) chosen first, then the file,
 * whose choice uploads it. The slots follow the pair being edited (`setSlots`).
 */
export class UploadForm {
  private readonly file = byId<HTMLInputElement>("upload-file");
  private readonly slotSelect = byId<HTMLSelectElement>("upload-slot");
  private readonly ipa = byId<HTMLInputElement>("upload-ipa");
  private slots: UploadSlot[] = [];

  constructor(
    private readonly onChoice: (choice: UploadChoice) => void,
    private readonly onError: (message: string) => void,
  ) {
    this.slotSelect.addEventListener("change", () => this.slotChanged());
    this.file.addEventListener("change", () => void this.chosen());
  }

  /** Offers L1, each of the pair's `l2Count` L2s, and one more L2 after them. */
  setSlots(l2Count: number): void {
    const keep = this.slotSelect.value;
    this.slots = [{ level: "L1" }, ...Array.from({ length: l2Count + 1 }, (_, index): UploadSlot => ({ level: "L2", index }))];
    this.slotSelect.replaceChildren(
      ...this.slots.map((s, i) => {
        const o = el("option", { text: s.level === "L1" ? "as L1" : `as L2 #${s.index}${s.index === l2Count ? " (new)" : ""}` });
        o.value = String(i);
        return o;
      }),
    );
    // The slot chosen stays while the pair has it; L2 #0 first (an L2 is what a guest author builds most).
    this.slotSelect.value = keep !== "" && Number(keep) < this.slots.length ? keep : "1";
    this.slotChanged();
  }

  private slot(): UploadSlot {
    return this.slots[Number(this.slotSelect.value)] ?? { level: "L1" };
  }

  private slotChanged(): void {
    const slot = this.slot();
    this.ipa.disabled = slot.level === "L1";
    this.ipa.value = defaultIpaText(slot);
    this.ipa.placeholder = slot.level === "L1" ? "ELF: its own; else 0x4010_0000" : "";
  }

  private async chosen(): Promise<void> {
    const f = this.file.files?.[0];
    // Cleared at once, so choosing the same file again (after rebuilding it) uploads it again.
    this.file.value = "";
    if (f === undefined) return;
    try {
      const slot = this.slot();
      const ipa = slot.level === "L1" ? 0n : parseIpa(this.ipa.value);
      if (f.size > MAX_UPLOAD_BYTES) throw new Error(`${f.name} (${kib(f.size)} KiB) is larger than L1's ${MAX_UPLOAD_BYTES >> 20} MiB of RAM`);
      this.onChoice({ slot, ipa, name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) });
    } catch (e) {
      this.onError(`upload: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
