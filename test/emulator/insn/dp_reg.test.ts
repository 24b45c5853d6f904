import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { Cpu } from "../../../emulator/cpu.ts";
import { PhysMemory } from "../../../emulator/memory.ts";
import { rawAssemble, runAsm } from "../../helpers/machine.ts";
import { expectUndefined } from "./undefined.ts";

const M64 = (1n << 64n) - 1n;
const M32 = 0xffff_ffffn;
const N = 8;
const Z = 4;
const C = 2;
const V = 1;

async function run(src: string, setup?: (cpu: Cpu) => void): Promise<Cpu> {
  const p = await runAsm(`${src}\nbrk #0`, { setup: (cpu) => setup?.(cpu) });
  expect(p.stop.kind).toBe("brk");
  return p.cpu;
}

const regs =
  (vals: Record<number, bigint>, nzcv?: number) =>
  (cpu: Cpu): void => {
    for (const [n, v] of Object.entries(vals)) cpu.setX(Number(n), BigInt.asUintN(64, v));
    if (nzcv !== undefined) cpu.setNzcv(nzcv);
  };

/** Assemble once, run many times on fresh machines. */
async function program(src: string): Promise<(setup: (cpu: Cpu) => void) => Cpu> {
  const bytes = await rawAssemble(`${src}\nbrk #0`);
  return (setup) => {
    const mem = new PhysMemory({ autoAllocate: true });
    mem.writeBytes(0x80000, bytes);
    const cpu = new Cpu(mem, { stopOnBrk: true, stopOnUnvectoredEl1: true });
    cpu.resetTo(0x80000n);
    setup(cpu);
    const stop = cpu.run(10_000);
    if (stop.kind !== "brk") throw new Error(`program stopped with ${stop.kind}`);
    return cpu;
  };
}

// ------------------------------------------------------------------ bigint reference model

const s64 = (v: bigint): bigint => BigInt.asIntN(64, v);
const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/** AddWithCarry over `bits`: [result, NZCV]. */
function awc(x: bigint, y: bigint, cin: bigint, bits: number): [bigint, number] {
  const mask = (1n << BigInt(bits)) - 1n;
  const usum = (x & mask) + (y & mask) + cin;
  const ssum = BigInt.asIntN(bits, x) + BigInt.asIntN(bits, y) + cin;
  const r = usum & mask;
  const n = (r >> BigInt(bits - 1)) & 1n ? N : 0;
  const z = r === 0n ? Z : 0;
  const c = usum !== r ? C : 0;
  const v = BigInt.asIntN(bits, r) !== ssum ? V : 0;
  return [r, n | z | c | v];
}

function ref64Shift(v: bigint, type: "lsl" | "lsr" | "asr" | "ror", s: number): bigint {
  const b = BigInt(s);
  switch (type) {
    case "lsl": return u64(v << b);
    case "lsr": return v >> b;
    case "asr": return u64(s64(v) >> b);
    case "ror": return s === 0 ? v : u64((v >> b) | (v << (64n - b)));
  }
}

function ref32Shift(v: bigint, type: "lsl" | "lsr" | "asr" | "ror", s: number): bigint {
  v &= M32;
  const b = BigInt(s);
  switch (type) {
    case "lsl": return (v << b) & M32;
    case "lsr": return v >> b;
    case "asr": return BigInt.asUintN(32, BigInt.asIntN(32, v) >> b);
    case "ror": return s === 0 ? v : ((v >> b) | (v << (32n - b))) & M32;
  }
}

// ------------------------------------------------------------------ logical (shifted register)

describe("logical (shifted register)", () => {
  const a = 0xf0f0_1234_8765_0f0fn;
  const b = 0x8000_ffff_0000_0001n;
  test.each([
    ["and", (x: bigint, y: bigint) => x & y],
    ["bic", (x: bigint, y: bigint) => x & ~y & M64],
    ["orr", (x: bigint, y: bigint) => x | y],
    ["orn", (x: bigint, y: bigint) => (x | ~y) & M64],
    ["eor", (x: bigint, y: bigint) => x ^ y],
    ["eon", (x: bigint, y: bigint) => (x ^ ~y) & M64],
  ] as const)("%s with every shift type and edge amounts", async (mn, f) => {
    const cases: ["lsl" | "lsr" | "asr" | "ror", number][] = [];
    for (const t of ["lsl", "lsr", "asr", "ror"] as const) for (const s of [0, 1, 31, 32, 63]) cases.push([t, s]);
    const src = cases.map(([t, s], i) => `${mn} x${i + 2}, x0, x1, ${t} #${s}`).join("\n");
    const cpu = await run(src, regs({ 0: a, 1: b }));
    cases.forEach(([t, s], i) => expect(cpu.getX(i + 2), `${mn} ${t} #${s}`).toBe(f(a, ref64Shift(b, t, s))));
    const w32 = [0, 1, 16, 31].flatMap((s) => (["lsl", "lsr", "asr", "ror"] as const).map((t) => [t, s] as const));
    const src32 = w32.map(([t, s], i) => `${mn} w${i + 2}, w0, w1, ${t} #${s}`).join("\n");
    const cpu32 = await run(src32, regs({ 0: a, 1: b }));
    w32.forEach(([t, s], i) => expect(cpu32.getX(i + 2), `${mn} w ${t} #${s}`).toBe(f(a & M32, ref32Shift(b, t, s)) & M32));
  });

  test("MOV (ORR with ZR), MVN, and register 31 as ZR", async () => {
    const cpu = await run(
      `mov x2, x0
       mvn x3, x0
       mov w4, w0
       orr x5, xzr, xzr
       and xzr, x0, x0
       mvn w6, wzr`,
      regs({ 0: 0x1234_5678_9abc_def0n, 5: 7n }),
    );
    expect(cpu.getX(2)).toBe(0x1234_5678_9abc_def0n);
    expect(cpu.getX(3)).toBe(~0x1234_5678_9abc_def0n & M64);
    expect(cpu.getX(4)).toBe(0x9abc_def0n);
    expect(cpu.getX(5)).toBe(0n);
    expect(cpu.getX(6)).toBe(M32);
  });

  test("ANDS/BICS/TST flags (C and V cleared)", async () => {
    let cpu = await run(`ands x2, x0, x1`, regs({ 0: M64, 1: 1n << 63n }, C | V));
    expect(cpu.getX(2)).toBe(1n << 63n);
    expect(cpu.nzcv()).toBe(N);
    cpu = await run(`bics x2, x0, x0`, regs({ 0: M64 }, C | V));
    expect(cpu.getX(2)).toBe(0n);
    expect(cpu.nzcv()).toBe(Z);
    cpu = await run(`tst w0, w1, lsl #31`, regs({ 0: 0x8000_0000n, 1: 1n }, V));
    expect(cpu.nzcv()).toBe(N);
    cpu = await run(`ands w2, w0, w1`, regs({ 0: 0xffff_ffff_0000_0000n, 1: M64 }, N));
    expect(cpu.nzcv()).toBe(Z);
    cpu = await run(`bics w2, w0, w1, ror #4`, regs({ 0: 0x7fff_ffffn, 1: 0xfn }));
    expect(cpu.getX(2)).toBe(0x0fff_ffffn);
    expect(cpu.nzcv()).toBe(0);
  });
});

// ------------------------------------------------------------------ add/subtract (shifted, extended, carry)

describe("ADD/SUB (shifted register)", () => {
  test.each([
    ["adds x2, x0, x1", 0x7fff_ffff_ffff_ffffn, 1n, 1n << 63n, N | V],
    ["adds x2, x0, x1", M64, 1n, 0n, Z | C],
    ["adds x2, x0, x1", 1n << 63n, 1n << 63n, 0n, Z | C | V],
    ["subs x2, x0, x1", 0n, 1n, M64, N],
    ["subs x2, x0, x1", 5n, 5n, 0n, Z | C],
    ["subs x2, x0, x1", 1n << 63n, 1n, (1n << 63n) - 1n, C | V],
    ["subs x2, x0, x1", 0x7fff_ffff_ffff_ffffn, M64, 1n << 63n, N | V],
    ["subs x2, x0, x1, lsl #63", 0n, 1n, 1n << 63n, N | V],
    ["adds x2, x0, x1, asr #63", 1n, 1n << 63n, 0n, Z | C],
    ["adds w2, w0, w1", 0x7fff_ffffn, 1n, 0x8000_0000n, N | V],
    ["adds w2, w0, w1", 0xaaaa_ffff_ffffn, 1n, 0n, Z | C],
    ["subs w2, w0, w1", 0n, 1n, M32, N],
    ["subs w2, w0, w1", 0x8000_0000n, 1n, 0x7fff_ffffn, C | V],
    ["subs w2, w0, w1, lsr #31", 0n, 0x8000_0000n, M32, N],
    ["cmp x0, x1", 3n, 4n, 0n, N],
    ["cmn w0, w1", 0xffff_ffffn, 1n, 0n, Z | C],
  ])("%s (x0=%s, x1=%s)", async (src, x0, x1, result, flags) => {
    const cpu = await run(src, regs({ 0: x0, 1: x1, 2: 0n }));
    expect(cpu.getX(2)).toBe(result);
    expect(cpu.nzcv()).toBe(flags);
  });

  test("non-flag forms, shifts and zero-extension", async () => {
    const cpu = await run(
      `add x2, x0, x1, lsl #4
       sub x3, x0, x1, lsr #60
       add w4, w0, w1
       sub w5, w1, w0, asr #31
       neg x6, x1
       neg w7, w1
       add x8, x0, x1, asr #63
       sub xzr, x0, x1`,
      regs({ 0: 0xffff_ffff_ffff_fff0n, 1: 0x8000_0000_0000_0001n }),
    );
    const a = 0xffff_ffff_ffff_fff0n;
    const b = 0x8000_0000_0000_0001n;
    expect(cpu.getX(2)).toBe(u64(a + u64(b << 4n)));
    expect(cpu.getX(3)).toBe(u64(a - (b >> 60n)));
    expect(cpu.getX(4)).toBe((a + b) & M32);
    expect(cpu.getX(5)).toBe((1n - M32) & M32);
    expect(cpu.getX(6)).toBe(u64(-b));
    expect(cpu.getX(7)).toBe(M32);
    expect(cpu.getX(8)).toBe(u64(a - 1n));
  });
});

describe("ADD/SUB (extended register)", () => {
  const b = 0x8765_4321_fedc_ba98n;
  test.each([
    ["uxtb", 0, 0x98n],
    ["uxth", 1, 0xba98n],
    ["uxtw", 2, 0xfedc_ba98n],
    ["uxtx", 3, b],
    ["sxtb", 4, u64(-0x68n)],
    ["sxth", 5, u64(BigInt.asIntN(16, 0xba98n))],
    ["sxtw", 6, u64(BigInt.asIntN(32, 0xfedc_ba98n))],
    ["sxtx", 7, b],
  ] as const)("%s with shifts 0..4", async (ext, _opt, extended) => {
    const reg = ext === "uxtx" || ext === "sxtx" ? "x1" : "w1";
    const src = [0, 1, 2, 3, 4].map((s) => `add x${s + 2}, x0, ${reg}, ${ext} #${s}`).join("\n");
    const cpu = await run(src + `\nsub x7, x0, ${reg}, ${ext}\nadd w8, w0, w1, ${ext} #2`, regs({ 0: 0x1000n, 1: b }));
    for (let s = 0; s < 5; s++) expect(cpu.getX(s + 2)).toBe(u64(0x1000n + (extended << BigInt(s))));
    expect(cpu.getX(7)).toBe(u64(0x1000n - extended));
    expect(cpu.getX(8)).toBe((0x1000n + (extended << 2n)) & M32);
  });

  test("SP as Rn and Rd, ZR as Rd of the S forms", async () => {
    const cpu = await run(
      `mov sp, x0
       add sp, sp, x1
       mov x2, sp
       add x3, sp, w1, uxtw #2
       sub sp, sp, x1, lsl #1
       mov x4, sp
       cmp sp, x0
       adds x5, sp, w1, sxtw`,
      regs({ 0: 0x10_0000n, 1: 0x100n }),
    );
    expect(cpu.getX(2)).toBe(0x10_0100n);
    expect(cpu.getX(3)).toBe(0x10_0500n);
    expect(cpu.getX(4)).toBe(0x0f_ff00n);
    expect(cpu.getSP()).toBe(0x0f_ff00n);
    expect(cpu.getX(5)).toBe(0x10_0000n);
    expect(cpu.nzcv()).toBe(0);
  });

  test("flags of the extended S forms", async () => {
    let cpu = await run(`cmp w0, w1, uxtb`, regs({ 0: 0xffn, 1: 0xfffn }));
    expect(cpu.nzcv()).toBe(Z | C);
    cpu = await run(`adds x2, x0, w1, sxtw`, regs({ 0: 1n, 1: M32 }));
    expect(cpu.getX(2)).toBe(0n);
    expect(cpu.nzcv()).toBe(Z | C);
  });
});

describe("ADC/SBC", () => {
  test.each([
    ["adc x2, x0, x1", M64, 0n, C, 0n, C],
    ["adcs x2, x0, x1", M64, 0n, C, 0n, Z | C],
    ["adcs x2, x0, x1", 0x7fff_ffff_ffff_fffen, 1n, C, 1n << 63n, N | V],
    ["adcs x2, x0, x1", 1n, 2n, 0, 3n, 0],
    ["sbcs x2, x0, x1", 5n, 5n, 0, M64, N],
    ["sbcs x2, x0, x1", 5n, 5n, C, 0n, Z | C],
    ["sbc x2, x0, x1", 0n, 0n, 0, M64, 0],
    ["adcs w2, w0, w1", 0xffff_ffffn, 0n, C, 0n, Z | C],
    ["adcs w2, w0, w1", 0x7fff_ffffn, 0n, C, 0x8000_0000n, N | V],
    ["sbcs w2, w0, w1", 0n, 0n, 0, M32, N],
    ["sbcs w2, w0, w1", 0x8000_0000n, 0n, 0, 0x7fff_ffffn, C | V],
    ["ngcs x2, x1", 0n, 0n, C, 0n, Z | C],
  ])("%s (x0=%s x1=%s nzcv=%s)", async (src, x0, x1, nzcv, result, flags) => {
    const cpu = await run(src, regs({ 0: x0, 1: x1 }, nzcv));
    expect(cpu.getX(2)).toBe(result);
    expect(cpu.nzcv()).toBe(flags);
  });
});

// ------------------------------------------------------------------ conditional compare/select

const CONDS = ["eq", "ne", "cs", "cc", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al", "nv"];

/** Condition table from the Arm ARM (C1.2.4), independent of the CPU model. */
function condRef(cond: number, f: number): boolean {
  const n = (f >> 3) & 1;
  const z = (f >> 2) & 1;
  const c = (f >> 1) & 1;
  const v = f & 1;
  const base = [z === 1, c === 1, n === 1, v === 1, c === 1 && z === 0, n === v, n === v && z === 0, true][cond >> 1]!;
  return cond & 1 && cond !== 15 ? !base : base;
}

describe("conditional select", () => {
  test("CSEL/CSINC/CSINV/CSNEG under all 16 conditions and all 16 flag values", async () => {
    const src = CONDS.flatMap((c, i) => [`csel x${i}, x20, x21, ${c}`]).join("\n");
    const src2 = CONDS.map((c, i) => `csinc x${i}, x20, x21, ${c}`).join("\n");
    const src3 = CONDS.map((c, i) => `csinv w${i}, w20, w21, ${c}`).join("\n");
    const src4 = CONDS.map((c, i) => `csneg x${i}, x20, x21, ${c}`).join("\n");
    const progs = await Promise.all([src, src2, src3, src4].map(program));
    const a = 0x1111_2222_3333_4444n;
    const b = 0xffff_ffff_ffff_ffffn;
    const alt = [(y: bigint) => y, (y: bigint) => u64(y + 1n), (y: bigint) => ~y & M32, (y: bigint) => u64(-y)];
    for (let f = 0; f < 16; f++) {
      progs.forEach((p, k) => {
        const cpu = p(regs({ 20: a, 21: b }, f));
        for (let c = 0; c < 16; c++) {
          const want = condRef(c, f) ? (k === 2 ? a & M32 : a) : alt[k]!(b);
          expect(cpu.getX(c), `form ${k} cond ${CONDS[c]} nzcv ${f}`).toBe(want);
        }
        expect(cpu.nzcv()).toBe(f);
      });
    }
  });

  test("CSET/CSETM/CINC/CNEG aliases and 32-bit zero-extension", async () => {
    const cpu = await run(
      `cmp x0, x1
       cset x2, lt
       csetm w3, lt
       cinc x4, x0, ge
       cneg w5, w0, lt
       csinc w6, w0, w1, eq
       csneg w7, wzr, w1, eq`,
      regs({ 0: 0xffff_ffff_ffff_fffbn, 1: 0n }),
    );
    expect(cpu.getX(2)).toBe(1n);
    expect(cpu.getX(3)).toBe(M32);
    expect(cpu.getX(4)).toBe(0xffff_ffff_ffff_fffbn);
    expect(cpu.getX(5)).toBe(5n);
    expect(cpu.getX(6)).toBe(1n);
    expect(cpu.getX(7)).toBe(0n);
  });
});

describe("conditional compare", () => {
  test("CCMP/CCMN (register and immediate) take the compare or the immediate flags", async () => {
    const progs = await Promise.all(
      CONDS.map((c) => program(`ccmp x0, x1, #0b1010, ${c}\nccmn w2, #5, #0b0101, ${c}\nmov x10, xzr`)),
    );
    for (let c = 0; c < 16; c++) {
      for (const f of [0, 4, 8, 9, 2, 6, 1, 15]) {
        // First the CCMP: holds ⇒ flags of 3 - 7; else 1010.
        const p = progs[c]!;
        const cpu = p(regs({ 0: 3n, 1: 7n, 2: 0xffff_fffbn }, f));
        const afterCcmp = condRef(c, f) ? awc(3n, ~7n & M64, 1n, 64)[1] : 0b1010;
        const afterCcmn = condRef(c, afterCcmp) ? awc(0xffff_fffbn, 5n, 0n, 32)[1] : 0b0101;
        expect(cpu.nzcv(), `cond ${CONDS[c]} nzcv ${f}`).toBe(afterCcmn);
      }
    }
  });

  test("CCMP immediate and CCMN register flag edge cases", async () => {
    let cpu = await run(`ccmp x0, #31, #0, eq`, regs({ 0: 31n }, Z));
    expect(cpu.nzcv()).toBe(Z | C);
    cpu = await run(`ccmn x0, x1, #0, al`, regs({ 0: 0x7fff_ffff_ffff_ffffn, 1: 1n }));
    expect(cpu.nzcv()).toBe(N | V);
    cpu = await run(`ccmp w0, w1, #0, al`, regs({ 0: 0x8000_0000n, 1: 1n }));
    expect(cpu.nzcv()).toBe(C | V);
  });
});

// ------------------------------------------------------------------ 2-source

describe("divide and variable shifts", () => {
  test.each([
    ["udiv x2, x0, x1", 100n, 7n, 14n],
    ["udiv x2, x0, x1", M64, 1n, M64],
    ["udiv x2, x0, x1", 5n, 0n, 0n],
    ["udiv x2, x0, x1", M64, 0x1_0000_0000n, M32],
    ["sdiv x2, x0, x1", u64(-7n), 2n, u64(-3n)],
    ["sdiv x2, x0, x1", 7n, u64(-2n), u64(-3n)],
    ["sdiv x2, x0, x1", 1n << 63n, M64, 1n << 63n],
    ["sdiv x2, x0, x1", u64(-5n), 0n, 0n],
    ["udiv w2, w0, w1", 0xffff_ffff_ffff_fff0n, 0x10n, 0x0fff_ffffn],
    ["udiv w2, w0, w1", 9n, 0x1_0000_0000n, 0n],
    ["udiv w2, w0, w1", 0xffff_ffffn, 1n, M32],
    ["sdiv w2, w0, w1", 0x8000_0000n, M32, 0x8000_0000n],
    ["sdiv w2, w0, w1", 0xffff_fff9n, 2n, 0xffff_fffdn],
    ["sdiv w2, w0, w1", 0x7fff_ffffn, 0n, 0n],
  ])("%s (x0=%s x1=%s)", async (src, x0, x1, want) => {
    const cpu = await run(src, regs({ 0: x0, 1: x1 }));
    expect(cpu.getX(2)).toBe(want);
  });

  test("LSLV/LSRV/ASRV/RORV take the amount modulo the data size", async () => {
    const a = 0x8123_4567_89ab_cdefn;
    for (const s of [0n, 1n, 31n, 32n, 33n, 63n, 64n, 65n, 0xffff_ffff_ffff_ffc5n]) {
      const cpu = await run(
        `lsl x2, x0, x1
         lsr x3, x0, x1
         asr x4, x0, x1
         ror x5, x0, x1
         lsl w6, w0, w1
         lsr w7, w0, w1
         asr w8, w0, w1
         ror w9, w0, w1`,
        regs({ 0: a, 1: s }),
      );
      const m = Number(s & 63n);
      const m32 = Number(s & 31n);
      expect(cpu.getX(2), `lsl ${s}`).toBe(ref64Shift(a, "lsl", m));
      expect(cpu.getX(3), `lsr ${s}`).toBe(ref64Shift(a, "lsr", m));
      expect(cpu.getX(4), `asr ${s}`).toBe(ref64Shift(a, "asr", m));
      expect(cpu.getX(5), `ror ${s}`).toBe(ref64Shift(a, "ror", m));
      expect(cpu.getX(6), `lsl w ${s}`).toBe(ref32Shift(a, "lsl", m32));
      expect(cpu.getX(7), `lsr w ${s}`).toBe(ref32Shift(a, "lsr", m32));
      expect(cpu.getX(8), `asr w ${s}`).toBe(ref32Shift(a, "asr", m32));
      expect(cpu.getX(9), `ror w ${s}`).toBe(ref32Shift(a, "ror", m32));
    }
  });
});

// ------------------------------------------------------------------ 1-source

describe("RBIT/REV/CLZ/CLS", () => {
  test("byte and bit reversal", async () => {
    const cpu = await run(
      `rbit x2, x0
       rbit w3, w0
       rev16 x4, x0
       rev16 w5, w0
       rev32 x6, x0
       rev x7, x0
       rev w8, w0
       rev x0, x0`,
      regs({ 0: 0x0123_4567_89ab_cdefn }),
    );
    const a = 0x0123_4567_89ab_cdefn;
    const rbit = (v: bigint, bits: number) => BigInt("0b" + v.toString(2).padStart(bits, "0").split("").reverse().join(""));
    expect(cpu.getX(2)).toBe(rbit(a, 64));
    expect(cpu.getX(3)).toBe(rbit(a & M32, 32));
    expect(cpu.getX(4)).toBe(0x2301_6745_ab89_efcdn);
    expect(cpu.getX(5)).toBe(0xab89_efcdn);
    expect(cpu.getX(6)).toBe(0x6745_2301_efcd_ab89n);
    expect(cpu.getX(7)).toBe(0xefcd_ab89_6745_2301n);
    expect(cpu.getX(8)).toBe(0xefcd_ab89n);
    expect(cpu.getX(0)).toBe(0xefcd_ab89_6745_2301n);
  });

  test.each([
    [0n, 64n, 63n, 32n, 31n],
    [M64, 0n, 63n, 0n, 31n],
    [1n, 63n, 62n, 31n, 30n],
    [1n << 63n, 0n, 0n, 32n, 31n],
    [0x0000_0000_8000_0000n, 32n, 31n, 0n, 0n],
    [0xffff_ffff_7fff_ffffn, 0n, 31n, 1n, 0n],
    [0x0000_0001_0000_0000n, 31n, 30n, 32n, 31n],
    [0xc000_0000_0000_0000n, 0n, 1n, 32n, 31n],
  ])("x0=%s: clz %s cls %s clz(w) %s cls(w) %s", async (v, clz, cls, clzw, clsw) => {
    const cpu = await run(`clz x2, x0\ncls x3, x0\nclz w4, w0\ncls w5, w0`, regs({ 0: v }));
    expect([cpu.getX(2), cpu.getX(3), cpu.getX(4), cpu.getX(5)]).toEqual([clz, cls, clzw, clsw]);
  });
});

// ------------------------------------------------------------------ multiply

describe("multiply", () => {
  test("MADD/MSUB/MUL/MNEG 64 and 32 bit", async () => {
    const a = 0xffff_ffff_ffff_fffdn; // -3
    const b = 0x1234_5678_9abc_def1n;
    const c = 0x1000n;
    const cpu = await run(
      `mul x3, x0, x1
       madd x4, x0, x1, x2
       msub x5, x0, x1, x2
       mneg x6, x0, x1
       mul w7, w0, w1
       madd w8, w0, w1, w2
       msub w9, w0, w1, w2
       mul x0, x0, x0`,
      regs({ 0: a, 1: b, 2: c }),
    );
    expect(cpu.getX(3)).toBe(u64(a * b));
    expect(cpu.getX(4)).toBe(u64(c + a * b));
    expect(cpu.getX(5)).toBe(u64(c - a * b));
    expect(cpu.getX(6)).toBe(u64(-(a * b)));
    expect(cpu.getX(7)).toBe(((a & M32) * (b & M32)) & M32);
    expect(cpu.getX(8)).toBe((c + (a & M32) * (b & M32)) & M32);
    expect(cpu.getX(9)).toBe((c - (a & M32) * (b & M32)) & M32);
    expect(cpu.getX(0)).toBe(9n);
  });

  test("long and high multiplies", async () => {
    const a = 0x8765_4321_8000_0001n;
    const b = 0x1234_5678_ffff_fffen;
    const c = 0xffff_ffff_ffff_ff00n;
    const cpu = await run(
      `smull x3, w0, w1
       umull x4, w0, w1
       smaddl x5, w0, w1, x2
       smsubl x6, w0, w1, x2
       umaddl x7, w0, w1, x2
       umsubl x8, w0, w1, x2
       smulh x9, x0, x1
       umulh x10, x0, x1
       smnegl x11, w0, w1
       smulh x12, x0, x0
       umulh x13, x2, x2`,
      regs({ 0: a, 1: b, 2: c }),
    );
    const sa = BigInt.asIntN(32, a);
    const sb = BigInt.asIntN(32, b);
    const ua = a & M32;
    const ub = b & M32;
    expect(cpu.getX(3)).toBe(u64(sa * sb));
    expect(cpu.getX(4)).toBe(ua * ub);
    expect(cpu.getX(5)).toBe(u64(c + sa * sb));
    expect(cpu.getX(6)).toBe(u64(c - sa * sb));
    expect(cpu.getX(7)).toBe(u64(c + ua * ub));
    expect(cpu.getX(8)).toBe(u64(c - ua * ub));
    expect(cpu.getX(9)).toBe(u64((s64(a) * s64(b)) >> 64n));
    expect(cpu.getX(10)).toBe((a * b) >> 64n);
    expect(cpu.getX(11)).toBe(u64(-(sa * sb)));
    expect(cpu.getX(12)).toBe(u64((s64(a) * s64(a)) >> 64n));
    expect(cpu.getX(13)).toBe((c * c) >> 64n);
  });
});

// ------------------------------------------------------------------ property test against a bigint model

describe("random operands against a bigint reference model", () => {
  const edge = fc.constantFrom(0n, 1n, M64, 1n << 63n, (1n << 63n) - 1n, M32, 1n << 32n, 0x8000_0000n, 0x7fff_ffffn);
  const u64arb = fc.oneof(fc.bigInt({ min: 0n, max: M64 }), edge);

  test("values of ADD/SUB/logical/shifts/MUL/UMULH/SMULH/bitfield/divide", async () => {
    const values = await program(
      `add x3, x0, x1
       sub x4, x0, x1
       and x5, x0, x1, lsl #13
       orr x6, x0, x1, lsr #47
       eor x7, x0, x1, ror #29
       bic x8, x0, x1, asr #5
       lslv x9, x0, x2
       lsrv x10, x0, x2
       asrv x11, x0, x2
       rorv x12, x0, x2
       mul x13, x0, x1
       umulh x14, x0, x1
       smulh x15, x0, x1
       madd x16, x0, x1, x2
       ubfx x17, x0, #17, #23
       sbfx x18, x1, #40, #20
       add w19, w0, w1, lsl #7
       sub w20, w0, w1
       mul w21, w0, w1
       lsrv w22, w0, w2
       asrv w23, w1, w2
       udiv x24, x0, x1
       sdiv x25, x0, x1
       mov x26, x0
       bfi x26, x1, #9, #33
       extr x27, x0, x1, #23
       smaddl x28, w0, w1, x2
       umsubl x29, w0, w1, x2`,
    );
    fc.assert(
      fc.property(u64arb, u64arb, fc.integer({ min: 0, max: 127 }), (a, b, s) => {
        const cpu = values(regs({ 0: a, 1: b, 2: BigInt(s) }));
        const sm = s & 63;
        const field = (v: bigint, lsb: number, w: number) => (v >> BigInt(lsb)) & ((1n << BigInt(w)) - 1n);
        const want: [number, bigint][] = [
          [3, u64(a + b)],
          [4, u64(a - b)],
          [5, a & ref64Shift(b, "lsl", 13)],
          [6, a | ref64Shift(b, "lsr", 47)],
          [7, a ^ ref64Shift(b, "ror", 29)],
          [8, a & ~ref64Shift(b, "asr", 5) & M64],
          [9, ref64Shift(a, "lsl", sm)],
          [10, ref64Shift(a, "lsr", sm)],
          [11, ref64Shift(a, "asr", sm)],
          [12, ref64Shift(a, "ror", sm)],
          [13, u64(a * b)],
          [14, (a * b) >> 64n],
          [15, u64((s64(a) * s64(b)) >> 64n)],
          [16, u64(BigInt(s) + a * b)],
          [17, field(a, 17, 23)],
          [18, u64(BigInt.asIntN(20, field(b, 40, 20)))],
          [19, (a + (b << 7n)) & M32],
          [20, (a - b) & M32],
          [21, (a * b) & M32],
          [22, (a & M32) >> BigInt(s & 31)],
          [23, ref32Shift(b, "asr", s & 31)],
          [24, b === 0n ? 0n : a / b],
          [25, b === 0n ? 0n : u64(s64(a) / s64(b))],
          [26, (a & ~(((1n << 33n) - 1n) << 9n)) | (field(b, 0, 33) << 9n)],
          [27, u64(((a << 64n) | b) >> 23n)],
          [28, u64(BigInt(s) + BigInt.asIntN(32, a) * BigInt.asIntN(32, b))],
          [29, u64(BigInt(s) - (a & M32) * (b & M32))],
        ];
        for (const [r, v] of want) if (cpu.getX(r) !== v) throw new Error(`x${r}: got ${cpu.getX(r).toString(16)} want ${v.toString(16)}`);
      }),
      { numRuns: 300 },
    );
  });

  test("flags of ADDS/SUBS/ADCS/SBCS/ANDS, 64 and 32 bit", async () => {
    const forms = [
      ["adds x2, x0, x1", (a: bigint, b: bigint, _c: bigint) => awc(a, b, 0n, 64)],
      ["subs x2, x0, x1", (a: bigint, b: bigint, _c: bigint) => awc(a, ~b & M64, 1n, 64)],
      ["adcs x2, x0, x1", (a: bigint, b: bigint, c: bigint) => awc(a, b, c, 64)],
      ["sbcs x2, x0, x1", (a: bigint, b: bigint, c: bigint) => awc(a, ~b & M64, c, 64)],
      ["adds w2, w0, w1", (a: bigint, b: bigint, _c: bigint) => awc(a, b, 0n, 32)],
      ["subs w2, w0, w1", (a: bigint, b: bigint, _c: bigint) => awc(a, ~b & M32, 1n, 32)],
      ["sbcs w2, w0, w1", (a: bigint, b: bigint, c: bigint) => awc(a, ~b & M32, c, 32)],
      [
        "ands x2, x0, x1",
        (a: bigint, b: bigint, _c: bigint): [bigint, number] => {
          const r = a & b;
          return [r, (r >> 63n ? N : 0) | (r === 0n ? Z : 0)];
        },
      ],
    ] as const;
    const progs = await Promise.all(forms.map(([src]) => program(src)));
    fc.assert(
      fc.property(u64arb, u64arb, fc.boolean(), (a, b, carry) => {
        forms.forEach(([src, f], i) => {
          const cpu = progs[i]!(regs({ 0: a, 1: b }, carry ? C | V : N | Z));
          const [r, flags] = f(a, b, carry ? 1n : 0n);
          if (cpu.getX(2) !== r || cpu.nzcv() !== flags) {
            throw new Error(`${src} a=${a.toString(16)} b=${b.toString(16)}: got ${cpu.getX(2).toString(16)}/${cpu.nzcv()} want ${r.toString(16)}/${flags}`);
          }
        });
      }),
      { numRuns: 300 },
    );
  });
});

// ------------------------------------------------------------------ reserved encodings

describe("unallocated register encodings are UNDEFINED", () => {
  test.each([
    ["ADD (shifted) shift=11", 0x8bc00000],
    ["ADD (shifted) sf=0 imm6=32", 0x0b008000],
    ["AND (shifted) sf=0 imm6=32", 0x0a008000],
    ["ADD (extended) imm3=5", 0x8b201400],
    ["ADD (extended) opt=01", 0x8b600000],
    ["CSEL S=1", 0xba800000],
    ["CSEL op2=1x", 0x9a800800],
    ["CCMP o2=1", 0xfa400400],
    ["CCMP o3=1", 0xfa400010],
    ["CCMP S=0", 0xda400000],
    ["2-source opcode 000000", 0x9ac00000],
    ["2-source S=1", 0xbac00800],
    ["REV sf=0 opc=000011", 0x5ac00c00],
    ["1-source opcode2!=0", 0xdac10000],
    ["SMULH sf=0", 0x1b400000],
    ["UMADDL sf=0", 0x1ba00000],
    ["3-source op54=01", 0xbb000000],
    ["3-source op31=011", 0x9b600000],
    ["ADC with op3!=0", 0x9a000400],
  ])("%s (%s)", (_name, word) => expectUndefined(word));
});
