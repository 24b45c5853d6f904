// Table-driven A64 decoder, in the spirit of QEMU's decodetree (target/arm/tcg/a64.decode): every
// instruction form is one row (name, bit pattern, handler). A row may name a *format* (a64.decode's
// `@name`): the fields and the derivation many rows share, so the row itself only gives its fixed
// bits, its handler and the constants (`data`) that parametrise a shared handler. The first
// matching row wins, so more specific rows come first. Decoding happens once per instruction word
// in a physical page; the CPU caches the decoded op there, so this path is not hot.

import type { CpuState } from "./cpu_state.ts";
import { itemAt } from "./item_at.ts";

/** A decoded instruction: the row's fields plus anything `prepare` derived from them. */
export interface Op {
  readonly name: string;
  readonly word: number;
  exec(cpu: CpuState, op: Op): void;
}

/** Derive/validate fields. Returning false means the encoding is unallocated (UNDEFINED). */
export type Prepare<F> = (f: F & Record<string, number>, word: number) => boolean | void;

/**
 * Field layout and derivation shared by many rows, like a64.decode's `@rrr_sf`: its pattern has
 * the fields and don't-cares (`.`) where the rows put their fixed bits.
 */
export interface Format<F> {
  readonly name: string;
  readonly pattern: string;
  readonly prepare?: Prepare<F>;
}

export interface Encoding<F = Record<string, number>> {
  /** Instruction form, e.g. `ADD_imm` (Arm ARM mnemonic, suffixed by form). */
  name: string;
  /**
   * 32 bits, most significant first, as space-separated tokens: literal bits `0`/`1`, don't-care
   * `x` or `.`, or a field `name:width`. Example: `sf:1 0 0 100010 sh:1 imm12:12 rn:5 rd:5`.
   * With a `format`, the format's fields fill the positions the row leaves as don't-care.
   */
  pattern: string;
  format?: Format<never>;
  /** Constants set in the decoded op before `prepare` runs (a shared handler's parameters). */
  data?: Readonly<Record<string, number>>;
  prepare?: Prepare<F>;
  exec: (cpu: CpuState, op: F & Op) => void;
}

interface CompiledField {
  name: string;
  shift: number;
  width: number;
}

export interface CompiledEncoding {
  readonly enc: Encoding<never>;
  readonly mask: number;
  readonly value: number;
  readonly fields: readonly CompiledField[];
}

/** Typed helper so each row's handler sees its own field names. */
export function encoding<F>(e: Encoding<F>): Encoding<never> {
  return e;
}

export function format<F>(f: Format<F>): Format<F> {
  return f;
}

/**
 * One a64.decode-style row: `row("SMADDL", "1 00 11011 001 ..... 0 ..... ..... .....", RRRR,
 * mulAddLong, { signed: 1, sub: 0 })`.
 */
export function row<F>(
  name: string,
  pattern: string,
  fmt: Format<F>,
  exec: (cpu: CpuState, op: F & Op) => void,
  data?: Readonly<Partial<F>>,
): Encoding<never> {
  return encoding<F>({ name, pattern, format: fmt, data: data as Readonly<Record<string, number>>, exec });
}

interface Bits {
  mask: number;
  value: number;
  fields: CompiledField[];
}

function compileBits(name: string, pattern: string): Bits {
  let mask = 0;
  let value = 0;
  let pos = 32;
  const fields: CompiledField[] = [];
  for (const tok of pattern.trim().split(/\s+/)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*):(\d+)$/.exec(tok);
    if (m) {
      const width = Number(m[2]);
      pos -= width;
      fields.push({ name: String(m[1]), shift: pos, width });
      continue;
    }
    for (const ch of tok) {
      pos -= 1;
      if (ch === "0" || ch === "1") {
        mask |= 1 << pos;
        if (ch === "1") value |= 1 << pos;
      } else if (ch !== "x" && ch !== ".") {
        throw new Error(`${name}: bad pattern token '${tok}'`);
      }
    }
  }
  if (pos !== 0) throw new Error(`${name}: pattern is ${32 - pos} bits, not 32`);
  return { mask: mask >>> 0, value: value >>> 0, fields };
}

const fieldMask = (f: CompiledField): number => (f.width === 32 ? 0xffffffff : ((1 << f.width) - 1) << f.shift) >>> 0;

export function compilePattern(enc: Encoding<never>): CompiledEncoding {
  const own = compileBits(enc.name, enc.pattern);
  if (!enc.format) return { enc, ...own };
  const fmt = compileBits(`${enc.name} (@${enc.format.name})`, enc.format.pattern);
  // The row's fixed bits and fields go where the format has don't-cares, and the other way round.
  let used = own.mask | fmt.mask;
  if ((own.mask & fmt.mask) !== 0) throw new Error(`${enc.name}: fixed bits overlap its format's`);
  for (const f of [...fmt.fields, ...own.fields]) {
    if ((used & fieldMask(f)) !== 0) throw new Error(`${enc.name}: field ${f.name} overlaps other bits`);
    used |= fieldMask(f);
  }
  const fields = [...own.fields, ...fmt.fields].sort((a, b) => b.shift - a.shift);
  return { enc, mask: (own.mask | fmt.mask) >>> 0, value: (own.value | fmt.value) >>> 0, fields };
}

export function extractFields(c: CompiledEncoding, word: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of c.fields) out[f.name] = f.width === 32 ? word >>> 0 : (word >>> f.shift) & ((1 << f.width) - 1);
  return out;
}

/** Row constants, then the format's derivation, then the row's own; false: not this row. */
function prepareFields(enc: Encoding<never>, fields: Record<string, number>, word: number): boolean {
  if (enc.data) Object.assign(fields, enc.data);
  if (enc.format?.prepare && enc.format.prepare(fields as never, word) === false) return false;
  return !(enc.prepare && enc.prepare(fields as never, word) === false);
}

export class Decoder {
  private readonly rows: CompiledEncoding[];
  /** Rows bucketed by bits [28:25] (the A64 top-level op1 field) to shorten the scan. */
  private readonly buckets: CompiledEncoding[][] = [];

  constructor(
    table: readonly Encoding<never>[],
    private readonly undefinedOp: (word: number) => Op,
  ) {
    this.rows = table.map(compilePattern);
    const seen = new Set<string>();
    for (const r of this.rows) {
      if (seen.has(r.enc.name)) throw new Error(`duplicate encoding name ${r.enc.name}`);
      seen.add(r.enc.name);
    }
    const top = 0xf << 25;
    for (let b = 0; b < 16; b++) {
      this.buckets.push(this.rows.filter((r) => (((b << 25) ^ r.value) & r.mask & top) === 0));
    }
  }

  get table(): readonly CompiledEncoding[] {
    return this.rows;
  }

  /** The first row whose pattern matches and whose `prepare` accepts, with its fields. */
  match(word: number): { row: CompiledEncoding; fields: Record<string, number> } | null {
    const w = word >>> 0;
    for (const r of itemAt(this.buckets, (w >>> 25) & 0xf, "decode bucket")) {
      if (((w & r.mask) >>> 0) !== r.value) continue;
      const fields = extractFields(r, w);
      if (!prepareFields(r.enc, fields, w)) continue;
      return { row: r, fields };
    }
    return null;
  }

  decode(word: number): Op {
    const m = this.match(word);
    if (!m) return this.undefinedOp(word >>> 0);
    const op = m.fields as Record<string, unknown>;
    op.name = m.row.enc.name;
    op.word = word >>> 0;
    op.exec = m.row.enc.exec;
    return op as unknown as Op;
  }
}
