// Pass 2 for one instruction statement: nvlab helpers, system-instruction fallbacks, PC-relative
// targets, then keystone — with every failure turned into an AsmError at the right column.

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
      const loc = this.pieces.length > n ? this.at(this.pieces[n].at) : this.at(this.st.args.length);
      this.fail(`'${this.mn}' takes ${n} operand${n === 1 ? "" : "s"}, got ${this.pieces.length}`, loc);
    }
  }

  register(p: Piece, re: RegExp, what: string): string {
    if (!re.test(p.text)) this.fail(`expected ${what}, found '${p.text}'`, this.at(p.at));
    return p.text.toLowerCase();
  }

  encode(): number[] {
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
    this.expectCount(2);
    const rd = this.register(this.pieces[0], bits === 64 ? XREG : WXREG, bits === 64 ? "an X register" : "a W or X register");
    const v = this.value(this.pieces[1]);
    const lo = -(1n << BigInt(bits - 1));
    if (v < lo || v >= 1n << BigInt(bits)) this.fail(`value 0x${BigInt.asUintN(128, v).toString(16)} does not fit in ${bits} bits`, this.at(this.pieces[1].at));
    const lines = bits === 64 ? mov64Lines(rd, v) : mov32Lines(rd, v);
    return lines.map((text, i) => this.keystone(text, this.addr + BigInt(4 * i), this.pieces));
  }

  private adrl(): number[] {
    this.expectCount(2);
    const rd = this.register(this.pieces[0], XREG, "an X register");
    const target = this.pcTarget(this.pieces[1]);
    const adrp = this.keystone(`adrp ${rd}, .`, this.addr, this.pieces);
    const patched = patchPcRel(adrp, this.addr, target);
    if (!patched.ok) this.fail("reason" in patched ? patched.reason : "internal error: ADRP not recognised", this.at(this.pieces[1].at));
    const add = this.keystone(`add ${rd}, ${rd}, #0x${(BigInt.asUintN(64, target) & 0xfffn).toString(16)}`, this.addr + 4n, this.pieces);
    return [patched.word, add];
  }

  private tlbi(): number {
    if (this.pieces.length === 0) this.fail("'tlbi' needs an operation");
    const [opPiece, regPiece, extra] = this.pieces;
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
    if (!isPcRelMnemonic(this.mn) || pieces.length === 0) return -1;
    const last = pieces[pieces.length - 1];
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
    if ("reason" in patched) this.fail(patched.reason, this.at(pieces[pcIdx].at));
    return this.fail(`'${this.mn}' does not take a PC-relative target here`, this.at(pieces[pcIdx].at));
  }

  private render(texts: string[]): string {
    return texts.length ? `${this.mn} ${texts.join(", ")}` : this.mn;
  }

  /** One keystone call that must yield exactly one instruction word. */
  keystone(text: string, addr: bigint, pieces: Piece[], rewritten?: Array<{ text: string; imms: number[] }>): number {
    const r = ksAssemble(text, addr);
    if (r.ok && r.bytes.length === 4) return (r.bytes[0] | (r.bytes[1] << 8) | (r.bytes[2] << 16) | (r.bytes[3] << 24)) >>> 0;
    if (r.ok) {
      if (r.bytes.length === 0) {
        const loc = pieces.length ? this.at(pieces[0].at) : this.st.opLoc;
        this.fail(`'${this.mn}${pieces.length ? " " + pieces[0].text : ""}' is not supported by the assembler (use .inst or a generic 'sys'/'s3_…' form)`, loc);
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
        for (let i = 0; i < pieces.length; i++) {
          const name = bare(pieces[i].text);
          if (!/^[A-Za-z_.$][\w.$]*$/.test(name) || isRegisterName(name)) continue;
          const trial = texts.slice();
          trial[i] = texts[i].replace(name, "#0");
          const r = ksAssemble(this.render(trial), this.addr);
          if (r.ok || r.errNo !== KS_ERR_ASM_SYMBOL_MISSING) this.fail(`undefined symbol '${name}'`, this.at(pieces[i].at + pieces[i].text.indexOf(name)));
        }
      }
      // A name where a number would do is an undefined symbol; in MRS/MSR it is a register name.
      for (let i = 0; i < pieces.length; i++) {
        const name = bare(pieces[i].text);
        if (!/^[A-Za-z_.$][\w.$]*$/.test(name) || isRegisterName(name)) continue;
        const at = this.at(pieces[i].at + pieces[i].text.indexOf(name));
        if ((this.mn === "msr" && i === 0) || (this.mn === "mrs" && i === 1)) {
          this.fail(`unknown system register '${name}' (the generic form s<op0>_<op1>_c<n>_c<m>_<op2> always works)`, at);
        }
        const trial = texts.slice();
        trial[i] = texts[i].replace(name, "#0");
        if (ksAssemble(this.render(trial), this.addr).ok) this.fail(`undefined symbol '${name}'`, at);
      }
      // An immediate is the culprit if a small value in its place makes the statement valid.
      for (let i = 0; i < rewritten.length; i++) {
        const imms = [...texts[i].matchAll(/#[^,\]!\s]*/g)];
        for (let k = 0; k < imms.length && k < rewritten[i].imms.length; k++) {
          for (const probe of ["#0", "#1", "#8"]) {
            const m = imms[k];
            const trial = texts.slice();
            trial[i] = texts[i].slice(0, m.index) + probe + texts[i].slice(m.index! + m[0].length);
            if (ksAssemble(this.render(trial), this.addr).ok) {
              const at = rewritten[i].imms[k];
              const original = /^[^,\]!]*/.exec(this.st.args.slice(at))![0].trim();
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
