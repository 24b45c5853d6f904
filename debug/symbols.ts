// The debugger's symbol table, built from the assembled images: every label at the canonical IPA
// its image was loaded at, and at the address the code runs at (L1: the canonical IPA; L2: the
// nested IPA of its window, per the guest ABI). PCs are symbolized by canonical IPA, so a PC in
// L2's window is named after whichever L2 image is running there.

import { basename } from "../asm/source_path.ts";
import type { Image } from "../asm/image.ts";
import { hex } from "../emulator/types.ts";
import { L2_WINDOW_BASE, L2_WINDOW_SIZE } from "../lab/image_layout.ts";
import { DebugError, isNumber, parseAddress } from "./errors.ts";

export type Level = "L1" | "L2";

/** Where every L2 image sees itself (nested IPA of its window's start; guests/README.md). */
export const L2_WINDOW_IPA = 0x4000_0000n;

/** The address L2 code runs at for `canonical`, in an L2 image whose lowest byte is loaded at `loadIpa`. */
export function l2RunAddress(loadIpa: bigint, canonical: bigint): bigint {
  return L2_WINDOW_IPA + (canonical - loadIpa);
}

/** Canonical IPA of L2 #0's window; L2 #n's is n windows above (guests/README.md). */
export const L2_CANONICAL_BASE = L2_WINDOW_BASE;
export { L2_WINDOW_SIZE };

/**
 * Where the guest ABI puts nested IPA `nestedIpa` of the L2 running with VMID `vmid` (L2 #n runs
 * with VMID n + 1), for PCs L1 has not mapped yet (it maps L2's window lazily); null outside the window.
 */
export function l2AbiCanonical(vmid: number, nestedIpa: bigint): bigint | null {
  const off = nestedIpa - L2_WINDOW_IPA;
  if (vmid < 1 || off < 0n || off >= L2_WINDOW_SIZE) return null;
  return L2_CANONICAL_BASE + BigInt(vmid - 1) * L2_WINDOW_SIZE + off;
}

/** One loaded image. */
export interface LoadedImage {
  level: Level;
  /** The image's file, as assembled. */
  file: string;
  /** Short name used in qualified symbols: the file's base name, with `@IPA` when two images share it. */
  name: string;
  /** Canonical IPA of the image's lowest byte. */
  loadIpa: bigint;
  /** Canonical IPA ranges [start, end) of its sections. */
  ranges: { start: bigint; end: bigint }[];
}

export interface DebugSymbol {
  /** The label as written in the source. */
  label: string;
  /** `label` when no other image has it, else `file:label`. */
  name: string;
  image: LoadedImage;
  level: Level;
  /** Canonical IPA of the label. */
  canonical: bigint;
  /** Address the code runs at (L1: canonical IPA; L2: nested IPA in its window). */
  address: bigint;
}

export interface SymbolRef {
  symbol: DebugSymbol;
  offset: bigint;
}

/** `name` or `name+0x10`. */
export function formatSymbolRef(r: SymbolRef): string {
  return r.offset === 0n ? r.symbol.name : `${r.symbol.name}+${hex(r.offset)}`;
}

export interface ImagePlacement {
  level: Level;
  image: Image;
  /** Canonical IPA of the lowest section (default: where it was assembled). */
  ipa?: bigint;
}

function lowestBase(image: Image): bigint {
  return image.sections.reduce((m, s) => (s.base < m ? s.base : m), image.sections[0]?.base ?? 0n);
}

export class SymbolTable {
  readonly images: LoadedImage[] = [];
  private readonly symbols: DebugSymbol[] = [];
  /** Per image, its symbols sorted by canonical IPA (for nearest-below lookups). */
  private readonly sorted = new Map<LoadedImage, DebugSymbol[]>();

  constructor(placements: readonly ImagePlacement[]) {
    const baseNames = placements.map((p) => basename(p.image.file));
    for (const [i, p] of placements.entries()) {
      const low = lowestBase(p.image);
      const loadIpa = p.ipa ?? low;
      const shift = loadIpa - low;
      const shared = baseNames.filter((n) => n === baseNames[i]).length > 1;
      const image: LoadedImage = {
        level: p.level,
        file: p.image.file,
        name: shared ? `${baseNames[i]}@${hex(loadIpa)}` : baseNames[i]!,
        loadIpa,
        ranges: p.image.sections.map((s) => ({ start: s.base + shift, end: s.base + shift + BigInt(s.bytes.length) })),
      };
      this.images.push(image);
      const list: DebugSymbol[] = [];
      for (const [label, value] of p.image.symbols) {
        const canonical = value + shift;
        const address = p.level === "L2" ? l2RunAddress(loadIpa, canonical) : canonical;
        list.push({ label, name: label, image, level: p.level, canonical, address });
      }
      // Stable: labels at the same address keep source order, the first one names the address.
      list.sort((a, b) => (a.canonical < b.canonical ? -1 : a.canonical > b.canonical ? 1 : 0));
      this.sorted.set(image, list);
      this.symbols.push(...list);
    }
    const count = new Map<string, number>();
    for (const s of this.symbols) count.set(s.label, (count.get(s.label) ?? 0) + 1);
    for (const s of this.symbols) if (count.get(s.label)! > 1) s.name = `${s.image.name}:${s.label}`;
  }

  /** Every symbol, in image order then address order. */
  all(): readonly DebugSymbol[] {
    return this.symbols;
  }

  /** The image whose sections hold canonical IPA `canonical`. */
  imageAt(canonical: bigint): LoadedImage | null {
    return this.images.find((im) => im.ranges.some((r) => canonical >= r.start && canonical < r.end)) ?? null;
  }

  /** The nearest symbol at or below `canonical` in the image holding it. */
  lookup(canonical: bigint): SymbolRef | null {
    const image = this.imageAt(canonical);
    if (!image) return null;
    const list = this.sorted.get(image)!;
    let lo = 0;
    let hi = list.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.canonical <= canonical) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (best < 0) return null;
    // The first label at that address names it.
    while (best > 0 && list[best - 1]!.canonical === list[best]!.canonical) best--;
    return { symbol: list[best]!, offset: canonical - list[best]!.canonical };
  }

  /**
   * `SYMBOL`, `FILE:SYMBOL`, either with `+OFF`. A bare label that several images define is an
   * error listing the qualified names.
   */
  resolve(spec: string): SymbolRef {
    const text = spec.trim();
    const plus = text.lastIndexOf("+");
    const nameText = plus > 0 ? text.slice(0, plus).trim() : text;
    const offset = plus > 0 ? parseAddress(text.slice(plus + 1), `offset in '${text}'`) : 0n;
    const colon = nameText.lastIndexOf(":");
    const fileText = colon >= 0 ? nameText.slice(0, colon) : null;
    const label = colon >= 0 ? nameText.slice(colon + 1) : nameText;
    if (label === "" || isNumber(label)) throw new DebugError(`'${spec}' is not a symbol`);
    let matches = this.symbols.filter((s) => s.label === label);
    if (fileText !== null) matches = matches.filter((s) => imageMatches(s.image, fileText));
    if (matches.length === 0) throw new DebugError(`no symbol '${nameText}'${this.didYouMean(nameText)}`);
    if (matches.length > 1) {
      throw new DebugError(`'${nameText}' is ambiguous: ${matches.map((s) => `${s.image.name}:${s.label}`).join(", ")}`);
    }
    const symbol = matches[0]!;
    // The sum must still be an address: past 2^64 it would wrap to a low one.
    const top = symbol.address > symbol.canonical ? symbol.address : symbol.canonical;
    if (top + offset >= 1n << 64n) throw new DebugError(`'${text}': ${hex(top)} + ${hex(offset)} does not fit in 64 bits`);
    return { symbol, offset };
  }

  /** ` (did you mean a, b?)` for the closest names, or "". */
  didYouMean(name: string): string {
    const want = name.toLowerCase();
    const scored = [...new Set(this.symbols.map((s) => s.name))]
      .map((n) => ({ n, d: distance(want, n.toLowerCase()), sub: n.toLowerCase().includes(want) }))
      .filter((x) => x.sub || x.d <= Math.max(2, Math.floor(want.length / 3)))
      .sort((a, b) => Number(b.sub) - Number(a.sub) || a.d - b.d || a.n.localeCompare(b.n));
    if (scored.length === 0) return "";
    return ` (did you mean ${scored.slice(0, 3).map((x) => x.n).join(", ")}?)`;
  }
}

/** `FILE` in `FILE:LABEL`: the image's short name, its base name, or a path suffix of its file. */
function imageMatches(image: LoadedImage, fileText: string): boolean {
  return image.name === fileText || basename(image.file) === fileText || image.file.endsWith(fileText);
}

/** Levenshtein distance (short strings: symbol names). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
