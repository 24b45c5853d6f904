// Pass 2 for one instruction statement: nvlab helpers, system-instruction fallbacks, PC-relative
// targets, then keystone — with every failure turned into an AsmError at the right column.

import { itemAt } from "../emulator/item_at.ts";
import { AsmError, type SourceLoc } from "./errors.ts";
import { evalExprAt, type ExprEnv } from "./expr.ts";
import { ksAssemble, KS_ERR_ASM_MISSINGFEATURE, KS_ERR_ASM_MNEMONICFAIL, KS_ERR_ASM_SYMBOL_MISSING } from "./keystone.ts";
import { MACRO_SIZES, mov32Lines, mov64Lines } from "./macros.ts";
import { bare, isBadRegisterName, isRegisterName, rewriteOperand, splitOperands, type Piece } from "./operands.ts";
import { isPcRelMnemonic, patchPcRel } from "./pcrel.ts";
import type { Statement } from "./preprocess.ts";
import { genericSysregName, msrImmWord, PSTATE_FIELDS, SYSREG_FALLBACK, TLBI_OPS, tlbiWord } from "./sysops.ts";

export function instructionSize(mnemonic: string): number {
  return MACRO_SIZES.get(mnemonic) ?? 4;
}

const XREG = /^(?:x(?:[0-9]|[12][0-9]|30)|xzr)$/i;
const WXREG = /^(?:[xw](?:[0-9]|[12][0-9]|30)|xzr|wzr)$/i;

/** Encodes one statement; `known(name)` tells whether a name is a user symbol. */
const A64_MNEMONIC = /^[a-z][a-z0-9_]*(\.[a-z0-9]+)?$/i;

class InsnEncoder {
  readonly mn: string;
  readonly pieces: Piece[];

  constructor(
    readonly st: Statement,
    readonly addr: bigint,
    readonly env: ExprEnv,
    readonly known: (name: string) => boolean,
  ) {
    this.mn = st.op!;
    this.pieces = splitOperands(st.args);
  }

  at(offset: number): SourceLoc {
    return { ...this.st.argsLoc, col: this.st.argsLoc.col + offset };
  }

  fail(reason: string, loc: SourceLoc = this.st.opLoc): never {
    throw new AsmError(loc, reason);
  }

  /** Value of a whole operand that is an expression (a leading `#` is allowed). */
  value(p: Piece): bigint {
    const skip = p.text.startsWith("#") ? 1 : 0;
    const { value, end } = evalExprAt(this.st.args, p.at + skip, this.st.argsLoc, this.env);
    if (end < p.at + p.text.length) this.fail(`unexpected '${this.st.args[end]}' after expression`, this.at(end));
    return value;
  }

  expectCount(n: number): void {
    if (this.pieces.length !== n) {
      const extra = this.pieces[n];
      const loc = this.at(extra ? extra.at : this.st.args.length);
      this.fail(`'${this.mn}' takes ${n} operand${n === 1 ? "" : "s"}, got ${this.pieces.length}`, loc);
    }
  }

  /** The two operands of a two-operand form (reports a wrong count). */
  twoOperands(): [Piece, Piece] {
    this.expectCount(2);
    return [itemAt(this.pieces, 0, "operand"), itemAt(this.pieces, 1, "operand")];
  }

  register(p: Piece, re: RegExp, what: string): string {
    if (!re.test(p.text)) this.fail(`expected ${what}, found '${p.text}'`, this.at(p.at));
    return p.text.toLowerCase();
  }

  encode(): number[] {
    // Keystone never returns from some statements that start with a symbol character (`$)`, `$,`):
    // only a name shaped like an A64 mnemonic (letters, digits, one `.cond` suffix) reaches it.
    if (!A64_MNEMONIC.test(this.mn)) this.fail(`unknown instruction '${this.mn}'`);
    switch (this.mn) {
      case "mov64":
      case "movl":
        return this.movWide(64);
      case "mov32":
        return this.movWide(32);
      case "adrl":
        return this.adrl();
      case "tlbi":
        return [this.tlbi()];
      case "msr":
      case "mrs":
        return [this.sysreg()];
      default:
        return [this.general(this.pieces, this.addr)];
    }
  }

  private movWide(bits: 32 | 64): number[] {
    const [rdPiece, valuePiece] = this.twoOperands();
    const rd = this.register(rdPiece, bits === 64 ? XREG : WXREG, bits === 64 ? "an X register" : "a W or X register");
    const v = this.value(valuePiece);
    const lo = -(1n << BigInt(bits - 1));
    if (v < lo || v >= 1n << BigInt(bits)) this.fail(`value 0x${BigInt.asUintN(128, v).toString(16)} does not fit in ${bits} bits`, this.at(valuePiece.at));
    const lines = bits === 64 ? mov64Lines(rd, v) : mov32Lines(rd, v);
    return lines.map((text, i) => this.keystone(text, this.addr + BigInt(4 * i), this.pieces));
  }

  private adrl(): number[] {
    const [rdPiece, targetPiece] = this.twoOperands();
    const rd = this.register(rdPiece, XREG, "an X register");
    const target = this.pcTarget(targetPiece);
    const adrp = this.keystone(`adrp ${rd}, .`, this.addr, this.pieces);
    const patched = patchPcRel(adrp, this.addr, target);
    if (!patched.ok) this.fail("reason" in patched ? patched.reason : "internal error: ADRP not recognised", this.at(targetPiece.at));
    const add = this.keystone(`add ${rd}, ${rd}, #0x${(BigInt.asUintN(64, target) & 0xfffn).toString(16)}`, this.addr + 4n, this.pieces);
    return [patched.word, add];
  }

  private tlbi(): number {
    const [opPiece, regPiece, extra] = this.pieces;
    if (!opPiece) this.fail("'tlbi' needs an operation");
    const op = TLBI_OPS.get(opPiece.text.toLowerCase());
    if (!op) this.fail(`unknown TLBI operation '${opPiece.text}'`, this.at(opPiece.at));
    if (extra) this.fail("too many operands for 'tlbi'", this.at(extra.at));
    if (op.takesReg && !regPiece) this.fail(`'tlbi ${opPiece.text}' needs an X register operand`, this.at(this.st.args.length));
    if (!op.takesReg && regPiece) this.fail(`'tlbi ${opPiece.text}' takes no register operand`, this.at(regPiece.at));
    let rt = 31;
    if (regPiece) {
      const r = this.register(regPiece, XREG, "an X register");
      rt = r === "xzr" ? 31 : Number(r.slice(1));
    }
    return tlbiWord(op, rt);
  }

  /** MRS/MSR with registers keystone lacks (generic S3_… name) and MSR PSTATE fields it lacks. */
  private sysreg(): number {
    const idx = this.mn === "mrs" ? 1 : 0;
    const p = this.pieces[idx];
    if (!p) return this.general(this.pieces, this.addr);
    const name = p.text.toLowerCase();
    const pstate = PSTATE_FIELDS.get(name);
    const src = this.pieces[1];
    if (this.mn === "msr" && pstate && src && !isRegisterName(src.text)) {
      this.expectCount(2);
      const v = this.value(src);
      if (v < 0n || v > 1n) this.fail(`PSTATE.${name.toUpperCase()} immediate must be 0 or 1`, this.at(src.at));
      return msrImmWord(pstate[0], pstate[1], Number(v));
    }
    const enc = SYSREG_FALLBACK.get(name);
    if (!enc) return this.general(this.pieces, this.addr);
    const pieces = this.pieces.slice();
    pieces[idx] = { text: genericSysregName(enc), at: p.at };
    return this.general(pieces, this.addr);
  }

  /** Value of a PC-relative target operand (`label`, `1f`, `#0x80010`, `. + 8`). */
  private pcTarget(p: Piece): bigint {
    return this.value(p);
  }

  private pcRelIndex(pieces: Piece[]): number {
    const last = pieces.at(-1);
    if (!isPcRelMnemonic(this.mn) || last === undefined) return -1;
    if (/^(ldr|ldrsw|prfm)$/.test(this.mn)) {
      if (pieces.length !== 2 || pieces.some((q) => q.text.startsWith("["))) return -1;
    }
    if (last.text.startsWith("=")) {
      this.fail("literal pools ('ldr Rt, =value') are not supported; use mov64 or adrl", this.at(last.at));
    }
    if (isRegisterName(bare(last.text))) return -1;
    return pieces.length - 1;
  }

  /** Any instruction keystone knows, with nvlab expressions and PC-relative targets resolved. */
  private general(pieces: Piece[], addr: bigint): number {
    const pcIdx = this.pcRelIndex(pieces);
    let target = 0n;
    const rewritten = pieces.map((p, i) => {
      if (i === pcIdx) {
        target = this.pcTarget(p);
        return { text: ".", imms: [] };
      }
      return rewriteOperand(p, this.st.args, this.st.argsLoc, this.env, this.known);
    });
    const texts = rewritten.map((r) => r.text);
    const word = this.keystone(this.render(texts), addr, pieces, rewritten);
    if (pcIdx < 0) return word;
    const patched = patchPcRel(word, addr, target);
    if (patched.ok) return patched.word;
    const at = this.at(itemAt(pieces, pcIdx, "operand").at);
    if ("reason" in patched) this.fail(patched.reason, at);
    return this.fail(`'${this.mn}' does not take a PC-relative target here`, at);
  }

  private render(texts: string[]): string {
    return texts.length ? `${this.mn} ${texts.join(", ")}` : this.mn;
  }

  /** One keystone call that must yield exactly one instruction word. */
  keystone(text: string, addr: bigint, pieces: Piece[], rewritten?: Array<{ text: string; imms: number[] }>): number {
    const r = ksAssemble(text, addr);
    if (r.ok && r.bytes.length === 4) return new DataView(r.bytes.buffer, r.bytes.byteOffset, 4).getUint32(0, true);
    if (r.ok) {
      if (r.bytes.length === 0) {
        const [first] = pieces;
        const loc = first ? this.at(first.at) : this.st.opLoc;
        this.fail(`'${this.mn}${first ? " " + first.text : ""}' is not supported by the assembler (use .inst or a generic 'sys'/'s3_…' form)`, loc);
      }
      this.fail(`'${this.mn}' expanded to ${r.bytes.length} bytes; only single instructions are supported`);
    }
    this.diagnose(r.errNo, pieces, rewritten);
  }

  /** Find which operand keystone rejected by trying simpler variants of the statement. */
  private diagnose(errNo: number, pieces: Piece[], rewritten?: Array<{ text: string; imms: number[] }>): never {
    if (errNo === KS_ERR_ASM_MNEMONICFAIL) this.fail(`unknown instruction '${this.mn}'`);
    if (errNo === KS_ERR_ASM_MISSINGFEATURE) this.fail(`'${this.mn}' needs an architecture feature the assembler lacks (use .inst)`);
    for (const p of pieces) {
      const name = bare(p.text);
      if (isBadRegisterName(name)) this.fail(`invalid register '${name}'`, this.at(p.at + p.text.indexOf(name)));
    }
    if (rewritten) {
      const texts = rewritten.map((r) => r.text);
      if (errNo === KS_ERR_ASM_SYMBOL_MISSING) {
        for (const [i, p] of pieces.entries()) {
          const name = bare(p.text);
          if (!/^[A-Za-z_.$][\w.$]*$/.test(name) || isRegisterName(name)) continue;
          const trial = texts.slice();
          trial[i] = itemAt(texts, i, "operand").replace(name, "#0");
          const r = ksAssemble(this.render(trial), this.addr);
          if (r.ok || r.errNo !== KS_ERR_ASM_SYMBOL_MISSING) this.fail(`undefined symbol '${name}'`, this.at(p.at + p.text.indexOf(name)));
        }
      }
      // A name where a number would do is an undefined symbol; in MRS/MSR it is a register name.
      for (const [i, p] of pieces.entries()) {
        const name = bare(p.text);
        if (!/^[A-Za-z_.$][\w.$]*$/.test(name) || isRegisterName(name)) continue;
        const at = this.at(p.at + p.text.indexOf(name));
        if ((this.mn === "msr" && i === 0) || (this.mn === "mrs" && i === 1)) {
          this.fail(`unknown system register '${name}' (the generic form s<op0>_<op1>_c<n>_c<m>_<op2> always works)`, at);
        }
        const trial = texts.slice();
        trial[i] = itemAt(texts, i, "operand").replace(name, "#0");
        if (ksAssemble(this.render(trial), this.addr).ok) this.fail(`undefined symbol '${name}'`, at);
      }
      // An immediate is the culprit if a small value in its place makes the statement valid.
      for (const [i, { text, imms: immAts }] of rewritten.entries()) {
        const imms = [...text.matchAll(/#[^,\]!\s]*/g)];
        for (const [k, m] of imms.entries()) {
          const at = immAts[k];
          if (at === undefined) break;
          const start = m.index ?? 0;
          for (const probe of ["#0", "#1", "#8"]) {
            const trial = texts.slice();
            trial[i] = text.slice(0, start) + probe + text.slice(start + m[0].length);
            if (ksAssemble(this.render(trial), this.addr).ok) {
              const original = this.st.args.slice(at).replace(/[,\]!][\s\S]*$/, "").trim();
              this.fail(`immediate ${original} is out of range or not encodable for '${this.mn}'`, this.at(at));
            }
          }
        }
      }
    }
    this.fail(`invalid operands for '${this.mn}'`);
  }
}

/** Encode an instruction statement at `addr` into little-endian bytes. */
export function encodeInstruction(st: Statement, addr: bigint, env: ExprEnv, known: (name: string) => boolean): Uint8Array {
  const words = new InsnEncoder(st, addr, env, known).encode();
  const out = new Uint8Array(words.length * 4);
  const dv = new DataView(out.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w, true));
  return out;
}
