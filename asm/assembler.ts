// Two-pass assembler around keystone. Pass 1 lays out every statement (sections, addresses,
// labels; every A64 instruction is 4 bytes and helpers have fixed sizes). Pass 2 evaluates
// expressions with all symbols known and encodes instructions at their exact addresses.

import { hex } from "../emulator/types.ts";
import { itemAt } from "../emulator/item_at.ts";
import { AsmError, shift, type SourceLoc } from "./errors.ts";
import { readInputText } from "./host_files.ts";
import { evalExpr, UndefinedSymbolError, type ExprEnv } from "./expr.ts";
import type { Image, Section } from "./image.ts";
import { encodeInstruction, instructionSize } from "./instruction.ts";
import { loadKeystoneEngine } from "./keystone.ts";
import { isRegisterName, splitOperands, type Piece } from "./operands.ts";
import { loadSource, parseString, type Statement } from "./preprocess.ts";

export interface AssembleOptions {
  /** Name used in error messages and as the base for `.include` paths. */
  file?: string;
  /** Load address of the first section when it has none of its own (default 0). */
  base?: bigint;
}

const NOP = 0xd503201f;
const MAX_FILL = 64 << 20;
const DATA_SIZES: Record<string, number> = { ".quad": 8, ".dword": 8, ".8byte": 8, ".word": 4, ".long": 4, ".int": 4, ".4byte": 4, ".hword": 2, ".short": 2, ".2byte": 2, ".byte": 1 };
const STRINGS: Record<string, boolean> = { ".ascii": false, ".asciz": true, ".string": true };
const IGNORED = new Set([".global", ".globl", ".type", ".size"]);
const SYMBOL_NAME = /^[A-Za-z_.$][\w.$]*$/;

interface Sec {
  name: string;
  base: bigint;
  /** Location counter (absolute address of the next byte). */
  lc: bigint;
  /** Highest address reached + 1. */
  end: bigint;
  declared: SourceLoc;
  hasCode: boolean;
  bytes?: Uint8Array;
}

/** Work left for pass 2: bytes to produce at `addr` in `sec`. */
type Item =
  | { kind: "insn"; st: Statement; index: number; sec: Sec; addr: bigint }
  | { kind: "data"; st: Statement; index: number; sec: Sec; addr: bigint; size: number; pieces: Piece[] }
  | { kind: "bytes"; sec: Sec; addr: bigint; bytes: Uint8Array }
  | { kind: "entry"; st: Statement; index: number; addr: bigint };

interface Sym {
  value: bigint;
  loc: SourceLoc;
  kind: "label" | "const";
}

interface DeferredConst {
  name: string;
  st: Statement;
  index: number;
  dot: bigint;
}

function argLoc(st: Statement, offset: number): SourceLoc {
  return shift(st.argsLoc, offset);
}

class Assembler {
  private readonly sections: Sec[] = [];
  private cur: Sec | null = null;
  private readonly symbols = new Map<string, Sym>();
  /** Local numeric labels: number → definitions in statement order. */
  private readonly locals = new Map<string, Array<{ index: number; addr: bigint }>>();
  private readonly deferred: DeferredConst[] = [];
  private readonly items: Item[] = [];
  /** Every name defined anywhere in the source, so pass 1 can tell "later" from "never". */
  private readonly definedNames = new Set<string>();
  private entry: bigint | null = null;

  constructor(
    private readonly stmts: Statement[],
    private readonly base: bigint,
    private readonly file: string,
  ) {
    for (const st of stmts) {
      for (const l of st.labels) this.definedNames.add(l.name);
      if (st.op === "=" && st.assignName) this.definedNames.add(st.assignName);
      if ((st.op === ".equ" || st.op === ".set") && st.args) this.definedNames.add(itemAt(st.args.split(","), 0, "name").trim());
    }
  }

  run(): Image {
    this.stmts.forEach((st, i) => this.layout(st, i));
    this.resolveDeferred();
    this.checkOverlaps();
    for (const s of this.sections) s.bytes = new Uint8Array(Number(s.end - s.base));
    for (const it of this.items) this.emit(it);
    const sections: Section[] = this.sections.filter((s) => s.end > s.base).map((s) => ({ name: s.name, base: s.base, bytes: s.bytes! }));
    const symbols = new Map<string, bigint>();
    const constants = new Map<string, bigint>();
    for (const [name, s] of this.symbols) (s.kind === "label" ? symbols : constants).set(name, s.value);
    return { file: this.file, sections, symbols, constants, entry: this.entry ?? this.sections[0]?.base ?? this.base };
  }

  // ---- expression environments

  private env(index: number, dot: bigint, final: boolean): ExprEnv {
    return {
      dot,
      symbol: (name) => this.symbols.get(name)?.value,
      local: (n, dir) => {
        const defs = this.locals.get(n) ?? [];
        if (dir === "b") {
          // The last definition at or before this statement.
          let addr: bigint | undefined;
          for (const d of defs) if (d.index <= index) addr = d.addr;
          return addr;
        }
        // Forward references are only complete after pass 1.
        if (!final) return undefined;
        return defs.find((d) => d.index > index)?.addr;
      },
    };
  }

  /** Evaluate in pass 1, where the value decides layout and so must already be known. */
  private evalNow(text: string, loc: SourceLoc, index: number, dot: bigint): bigint {
    try {
      return evalExpr(text, loc, this.env(index, dot, false));
    } catch (e) {
      if (e instanceof UndefinedSymbolError && (this.definedNames.has(e.symbol) || /^\d+f$/.test(e.symbol))) {
        throw new AsmError(e, `symbol '${e.symbol}' must be defined before this point (its value decides the layout)`);
      }
      throw e;
    }
  }

  // ---- pass 1

  private section(st: Statement): Sec {
    if (!this.cur) this.cur = this.newSection(".text", null, st.labels[0]?.loc ?? st.opLoc);
    return this.cur;
  }

  private newSection(name: string, base: bigint | null, declared: SourceLoc): Sec {
    let b = base;
    if (b === null) {
      const prev = this.sections[this.sections.length - 1];
      b = prev ? (prev.end + 15n) & ~15n : this.base;
    }
    const s: Sec = { name, base: b, lc: b, end: b, declared, hasCode: false };
    this.sections.push(s);
    return s;
  }

  private defineSymbol(name: string, value: bigint, loc: SourceLoc, kind: Sym["kind"]): void {
    if (!SYMBOL_NAME.test(name)) throw new AsmError(loc, `invalid symbol name '${name}'`);
    if (isRegisterName(name)) throw new AsmError(loc, `'${name}' is a register name and cannot be a symbol`);
    const old = this.symbols.get(name) ?? this.deferred.find((d) => d.name === name);
    if (old) {
      const where = "loc" in old ? old.loc : old.st.opLoc;
      throw new AsmError(loc, `duplicate symbol '${name}' (first defined at ${where.file}:${where.line}:${where.col})`);
    }
    this.symbols.set(name, { value, loc, kind });
  }

  private advance(sec: Sec, n: bigint): void {
    sec.lc += n;
    if (sec.lc > sec.end) sec.end = sec.lc;
  }

  private layout(st: Statement, index: number): void {
    const op = st.op;
    if (op === ".section" || op === ".text" || op === ".data") {
      const [label] = st.labels;
      if (label) throw new AsmError(label.loc, "a label cannot precede a section directive on the same line");
      return this.enterSection(st, index);
    }
    if (op === "=" || op === ".equ" || op === ".set") return this.defineConst(st, index);
    if (op !== null && IGNORED.has(op)) return;

    const sec = this.section(st);
    for (const l of st.labels) {
      if (/^\d+$/.test(l.name)) {
        const defs = this.locals.get(l.name) ?? [];
        defs.push({ index, addr: sec.lc });
        this.locals.set(l.name, defs);
      } else this.defineSymbol(l.name, sec.lc, l.loc, "label");
    }
    if (op === null) return;
    if (!op.startsWith(".")) return this.layoutInstruction(st, index, sec, instructionSize(op));
    const size = DATA_SIZES[op];
    if (size !== undefined) {
      const pieces = splitOperands(st.args);
      if (!pieces.length) throw new AsmError(st.argsLoc, `'${op}' needs at least one value`);
      this.items.push({ kind: "data", st, index, sec, addr: sec.lc, size, pieces });
      return this.advance(sec, BigInt(size * pieces.length));
    }
    const zeroTerminated = STRINGS[op];
    if (zeroTerminated !== undefined) return this.layoutString(st, sec, zeroTerminated);
    switch (op) {
      case ".inst":
        return this.layoutInstruction(st, index, sec, 4 * Math.max(1, splitOperands(st.args).length));
      case ".space":
      case ".skip":
      case ".zero":
        return this.layoutSpace(st, index, sec);
      case ".align":
      case ".p2align":
      case ".balign":
        return this.layoutAlign(st, index, sec);
      case ".org":
        return this.layoutOrg(st, index, sec);
      case ".entry":
        this.items.push({ kind: "entry", st, index, addr: sec.lc });
        return;
      case ".include":
        throw new AsmError(st.opLoc, "internal: .include reached the assembler");
    }
    throw new AsmError(st.opLoc, `unknown directive '${op}'`);
  }

  private layoutInstruction(st: Statement, index: number, sec: Sec, size: number): void {
    if (sec.lc % 4n !== 0n) throw new AsmError(st.opLoc, this.unalignedReason(sec));
    if (st.op === ".inst" && !st.args.trim()) throw new AsmError(st.argsLoc, "'.inst' needs at least one value");
    sec.hasCode = true;
    this.items.push({ kind: "insn", st, index, sec, addr: sec.lc });
    this.advance(sec, BigInt(size));
  }

  /**
   * Why an instruction sits at an unaligned address: the source misplaced it (data before it), or
   * the whole image was given a load address that is not a multiple of 4, which no `.balign` fixes.
   */
  private unalignedReason(sec: Sec): string {
    if (sec.base === this.base && this.base % 4n !== 0n && (sec.lc - sec.base) % 4n === 0n) {
      return `the load address ${hex(this.base)} is not 4-byte aligned, so this instruction would sit at ${hex(sec.lc)}: load the image at a multiple of 4`;
    }
    return `instruction at unaligned address ${hex(sec.lc)} (use .balign 4 before it)`;
  }

  private layoutString(st: Statement, sec: Sec, nul: boolean): void {
    const out: number[] = [];
    const pieces = splitStringArgs(st);
    if (!pieces.length) throw new AsmError(st.argsLoc, `'${st.op}' needs a string`);
    for (const p of pieces) {
      const { bytes, end } = parseString(st.args, p.at, st.argsLoc);
      if (end !== p.at + p.text.length) throw new AsmError(argLoc(st, end), "unexpected text after string");
      out.push(...bytes);
      if (nul) out.push(0);
    }
    this.items.push({ kind: "bytes", sec, addr: sec.lc, bytes: Uint8Array.from(out) });
    this.advance(sec, BigInt(out.length));
  }

  private fillByte(st: Statement, p: Piece | undefined, index: number, dot: bigint): number | null {
    if (!p) return null;
    const v = this.evalNow(p.text, argLoc(st, p.at), index, dot);
    if (v < -128n || v > 255n) throw new AsmError(argLoc(st, p.at), `fill value ${v} does not fit in a byte`);
    return Number(BigInt.asUintN(8, v));
  }

  private pad(sec: Sec, count: bigint, fill: number | null, nops: boolean): void {
    if (count > BigInt(MAX_FILL)) throw new Error("unreachable: checked by callers");
    const bytes = new Uint8Array(Number(count));
    if (fill !== null) bytes.fill(fill);
    else if (nops) {
      // Zero bytes up to the next word boundary, then NOP words.
      const head = Number((4n - (sec.lc % 4n)) % 4n);
      const dv = new DataView(bytes.buffer);
      for (let k = head; k + 4 <= bytes.length; k += 4) dv.setUint32(k, NOP, true);
    }
    if (count > 0n) this.items.push({ kind: "bytes", sec, addr: sec.lc, bytes });
    this.advance(sec, count);
  }

  private layoutSpace(st: Statement, index: number, sec: Sec): void {
    const [n, f, extra] = splitOperands(st.args);
    if (!n) throw new AsmError(st.argsLoc, `'${st.op}' needs a size`);
    if (extra) throw new AsmError(argLoc(st, extra.at), "too many operands");
    const count = this.evalNow(n.text, argLoc(st, n.at), index, sec.lc);
    if (count < 0n || count > BigInt(MAX_FILL)) throw new AsmError(argLoc(st, n.at), `size ${count} out of range (0..${MAX_FILL})`);
    this.pad(sec, count, this.fillByte(st, f, index, sec.lc) ?? 0, false);
  }

  private layoutAlign(st: Statement, index: number, sec: Sec): void {
    const [n, f, extra] = splitOperands(st.args);
    if (!n) throw new AsmError(st.argsLoc, `'${st.op}' needs an alignment`);
    if (extra) throw new AsmError(argLoc(st, extra.at), "too many operands (a maximum-skip operand is not supported)");
    const v = this.evalNow(n.text, argLoc(st, n.at), index, sec.lc);
    let align: bigint;
    if (st.op === ".balign") {
      if (v < 1n || v > 1n << 30n || (v & (v - 1n)) !== 0n) throw new AsmError(argLoc(st, n.at), `.balign ${v}: alignment must be a power of two between 1 and 2^30`);
      align = v;
    } else {
      if (v < 0n || v > 30n) throw new AsmError(argLoc(st, n.at), `${st.op} ${v}: the operand is a power of two exponent (0..30); use .balign for a byte count`);
      align = 1n << v;
    }
    const count = (align - (sec.lc % align)) % align;
    if (count > BigInt(MAX_FILL)) throw new AsmError(argLoc(st, n.at), `alignment needs ${count} bytes of padding`);
    this.pad(sec, count, this.fillByte(st, f, index, sec.lc), sec.hasCode);
  }

  private layoutOrg(st: Statement, index: number, sec: Sec): void {
    const [n, f, extra] = splitOperands(st.args);
    if (!n) throw new AsmError(st.argsLoc, "'.org' needs an address");
    if (extra) throw new AsmError(argLoc(st, extra.at), "too many operands");
    const target = this.evalNow(n.text, argLoc(st, n.at), index, sec.lc);
    if (target < sec.lc) {
      throw new AsmError(argLoc(st, n.at), `.org ${hex(target)} moves backwards (section '${sec.name}' is already at ${hex(sec.lc)})`);
    }
    if (target - sec.lc > BigInt(MAX_FILL)) throw new AsmError(argLoc(st, n.at), `.org ${hex(target)} skips more than ${MAX_FILL} bytes`);
    this.pad(sec, target - sec.lc, this.fillByte(st, f, index, sec.lc) ?? 0, false);
  }

  private enterSection(st: Statement, index: number): void {
    let name: string;
    let addrPiece: Piece | undefined;
    if (st.op === ".section") {
      const [namePiece, second, third] = splitOperands(st.args);
      if (!namePiece) throw new AsmError(st.argsLoc, "'.section' needs a name");
      name = namePiece.text.replace(/^"(.*)"$/, "$1");
      if (!/^[\w.$]+$/.test(name)) throw new AsmError(argLoc(st, namePiece.at), `invalid section name '${namePiece.text}'`);
      // GNU-style flags ("ax") carry no address.
      addrPiece = second?.text.startsWith('"') ? undefined : second;
      if (third && !third.text.startsWith("@")) throw new AsmError(argLoc(st, third.at), "too many operands for '.section'");
    } else {
      name = st.op!;
      if (st.args) throw new AsmError(st.argsLoc, `'${st.op}' takes no operands (use '.section ${st.op}, ADDRESS' for an address)`);
    }
    const addr = addrPiece ? this.evalNow(addrPiece.text, argLoc(st, addrPiece.at), index, this.cur?.lc ?? this.base) : null;
    const existing = this.sections.find((s) => s.name === name);
    if (existing) {
      if (addr !== null && BigInt.asUintN(64, addr) !== existing.base) {
        throw new AsmError(argLoc(st, addrPiece!.at), `section '${name}' already starts at ${hex(existing.base)}`);
      }
      this.cur = existing;
      return;
    }
    this.cur = this.newSection(name, addr === null ? null : BigInt.asUintN(64, addr), st.opLoc);
  }

  private defineConst(st: Statement, index: number): void {
    let name: string;
    let exprText: string;
    let exprLoc: SourceLoc;
    if (st.op === "=") {
      name = st.assignName!;
      exprText = st.args;
      exprLoc = st.argsLoc;
      if (!exprText) throw new AsmError(st.argsLoc, `'${name} =' needs a value`);
    } else {
      const [namePiece, valuePiece, extra] = splitOperands(st.args);
      if (!namePiece || !valuePiece || extra) {
        throw new AsmError(extra ? argLoc(st, extra.at) : st.argsLoc, `'${st.op}' takes a name and a value: ${st.op} NAME, EXPR`);
      }
      name = namePiece.text;
      exprText = valuePiece.text;
      exprLoc = argLoc(st, valuePiece.at);
    }
    const nameLoc = st.op === "=" ? st.opLoc : st.argsLoc;
    for (const l of st.labels) this.defineSymbol(l.name, this.section(st).lc, l.loc, "label");
    const dot = this.cur?.lc ?? this.base;
    try {
      this.defineSymbol(name, evalExpr(exprText, exprLoc, this.env(index, dot, false)), nameLoc, "const");
    } catch (e) {
      if (!(e instanceof UndefinedSymbolError) || !(this.definedNames.has(e.symbol) || /^\d+f$/.test(e.symbol))) throw e;
      // A forward reference: settle it once all labels are known.
      this.defineSymbol(name, 0n, nameLoc, "const");
      this.symbols.delete(name);
      this.deferred.push({ name, st: { ...st, args: exprText, argsLoc: exprLoc }, index, dot });
    }
  }

  private resolveDeferred(): void {
    let pending = this.deferred.slice();
    while (pending.length) {
      const next: DeferredConst[] = [];
      let lastErr: AsmError | null = null;
      for (const d of pending) {
        try {
          const v = evalExpr(d.st.args, d.st.argsLoc, this.env(d.index, d.dot, true));
          this.symbols.set(d.name, { value: v, loc: d.st.opLoc, kind: "const" });
        } catch (e) {
          if (!(e instanceof UndefinedSymbolError)) throw e;
          lastErr ??= e;
          next.push(d);
        }
      }
      const [first] = next;
      if (first && next.length === pending.length) throw lastErr ?? new AsmError(first.st.argsLoc, "circular definitions");
      pending = next;
    }
    this.deferred.length = 0;
  }

  private checkOverlaps(): void {
    for (const [i, a] of this.sections.entries()) {
      if (a.end <= a.base) continue;
      for (const b of this.sections.slice(0, i)) {
        if (b.end > b.base && a.base < b.end && b.base < a.end) {
          throw new AsmError(a.declared, `section '${a.name}' [${hex(a.base)}, ${hex(a.end)}) overlaps section '${b.name}' [${hex(b.base)}, ${hex(b.end)})`);
        }
      }
    }
  }

  // ---- pass 2

  private known = (name: string): boolean => this.symbols.has(name);

  private emit(it: Item): void {
    switch (it.kind) {
      case "bytes":
        return this.put(it.sec, it.addr, it.bytes);
      case "entry": {
        const v = evalExpr(it.st.args || "", it.st.argsLoc, this.env(it.index, it.addr, true));
        if (this.entry !== null) throw new AsmError(it.st.opLoc, "duplicate .entry");
        this.entry = BigInt.asUintN(64, v);
        return;
      }
      case "data":
        return this.put(it.sec, it.addr, this.dataBytes(it));
      case "insn":
        return this.put(it.sec, it.addr, it.st.op === ".inst" ? this.instWords(it) : encodeInstruction(it.st, it.addr, this.env(it.index, it.addr, true), this.known));
    }
  }

  private put(sec: Sec, addr: bigint, bytes: Uint8Array): void {
    sec.bytes!.set(bytes, Number(addr - sec.base));
  }

  private fitted(st: Statement, p: Piece, v: bigint, size: number): bigint {
    const bits = BigInt(size * 8);
    if (v < -(1n << (bits - 1n)) || v >= 1n << bits) {
      throw new AsmError(argLoc(st, p.at), `value ${v < 0n ? "-" + hex(-v) : hex(v)} does not fit in ${size} byte${size > 1 ? "s" : ""}`);
    }
    return BigInt.asUintN(Number(bits), v);
  }

  private dataBytes(it: Extract<Item, { kind: "data" }>): Uint8Array {
    const out = new Uint8Array(it.size * it.pieces.length);
    const dv = new DataView(out.buffer);
    it.pieces.forEach((p, k) => {
      if (!p.text) throw new AsmError(argLoc(it.st, p.at), "expected a value");
      const addr = it.addr + BigInt(k * it.size);
      const v = this.fitted(it.st, p, evalExpr(p.text, argLoc(it.st, p.at), this.env(it.index, addr, true)), it.size);
      if (it.size === 8) dv.setBigUint64(k * 8, v, true);
      else if (it.size === 4) dv.setUint32(k * 4, Number(v), true);
      else if (it.size === 2) dv.setUint16(k * 2, Number(v), true);
      else dv.setUint8(k, Number(v));
    });
    return out;
  }

  private instWords(it: Extract<Item, { kind: "insn" }>): Uint8Array {
    const pieces = splitOperands(it.st.args);
    return this.dataBytes({ kind: "data", st: it.st, index: it.index, sec: it.sec, addr: it.addr, size: 4, pieces });
  }
}

/** Operands of `.ascii` and friends: comma-separated strings (commas inside strings are kept). */
function splitStringArgs(st: Statement): Piece[] {
  const pieces: Piece[] = [];
  const s = st.args;
  let i = 0;
  while (i < s.length) {
    while (s[i] === " " || s[i] === "\t") i++;
    if (i >= s.length) break;
    const start = i;
    if (s[i] === '"') {
      i++;
      while (i < s.length && s[i] !== '"') i += s[i] === "\\" ? 2 : 1;
      i++;
    }
    while (i < s.length && s[i] !== ",") i++;
    pieces.push({ text: s.slice(start, i).trimEnd(), at: start });
    i++;
  }
  return pieces;
}

/** Assemble nvlab source text into an image. */
export async function assemble(source: string, opts: AssembleOptions = {}): Promise<Image> {
  const file = opts.file ?? "<input>";
  await loadKeystoneEngine();
  const stmts = await loadSource(source, file);
  return new Assembler(stmts, BigInt.asUintN(64, opts.base ?? 0n), file).run();
}

/** Assemble a source file (`.include` paths are relative to it). */
export async function assembleFile(path: string, opts: { base?: bigint } = {}): Promise<Image> {
  const source = await readInputText(path);
  return assemble(source, { file: path, base: opts.base });
}
