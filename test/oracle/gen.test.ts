// The program generator: deterministic, only valid encodings, and programs that keep to the data
// buffer on a reference CPU.

import { beforeAll, describe, expect, it } from "vitest";
import { Capstone, Const, loadCapstone } from "capstone-wasm";
import { BASE_REG, BASE_VALUE, CODE_BASE, DATA_BASE, DATA_SIZE, IDX_NEG, IDX_POS, Rng, codeBytes, generateCase, randomBitmask } from "./gen.ts";
import { keyAt } from "../../emulator/item_at.ts";
import { Unicorn, unicornAvailable } from "../../lab/oracle/unicorn.ts";

const CASES = 2000;

/** DecodeBitMasks (Arm ARM, shared pseudocode) for the immediate, on bigint, as a reference. */
function decodeBitMask(n: number, immr: number, imms: number, width: number): bigint | null {
  const combined = (n << 6) | (~imms & 0x3f);
  if (combined === 0) return null;
  const len = 31 - Math.clz32(combined);
  const esize = 1 << len;
  const levels = esize - 1;
  const s = imms & levels;
  const r = immr & levels;
  if (s === levels || esize > width) return null;
  const welem = (1n << BigInt(s + 1)) - 1n;
  const mask = (1n << BigInt(esize)) - 1n;
  const rot = ((welem >> BigInt(r)) | (welem << BigInt(esize - r))) & mask;
  let out = 0n;
  for (let i = 0; i < width; i += esize) out |= rot << BigInt(i);
  return out;
}

describe("program generator", () => {
  let cs: Capstone;
  beforeAll(async () => {
    await loadCapstone();
    cs = new Capstone(keyAt(Const, "CS_ARCH_ARM64", "capstone"), keyAt(Const, "CS_MODE_ARM", "capstone"));
  });

  it("is deterministic per (seed, index) and differs across indexes", () => {
    expect(generateCase(7, 3)).toEqual(generateCase(7, 3));
    expect(generateCase(7, 3).words).not.toEqual(generateCase(7, 4).words);
    const r = new Rng(1);
    const xs = Array.from({ length: 1000 }, () => r.int(10));
    for (let v = 0; v < 10; v++) expect(xs.filter((x) => x === v).length).toBeGreaterThan(60);
  });

  it("makes only valid bitmask immediates", () => {
    const rng = new Rng(99);
    for (let i = 0; i < 5000; i++) {
      const sf = i & 1;
      const { n, immr, imms } = randomBitmask(rng, sf);
      const v = decodeBitMask(n, immr, imms, sf ? 64 : 32);
      expect(v).not.toBeNull();
      expect(v).not.toBe(0n);
    }
  });

  it("pins the base and index registers and keeps the sequence length in range", () => {
    for (let i = 0; i < 200; i++) {
      const tc = generateCase(1, i);
      expect(tc.words.length).toBeGreaterThanOrEqual(8);
      expect(tc.words.length).toBeLessThanOrEqual(26);
      expect(tc.x[BASE_REG]).toBe(BASE_VALUE);
      expect(tc.x[IDX_POS]! % 8n).toBe(0n);
      expect(BigInt.asIntN(64, tc.x[IDX_NEG]!)).toBeLessThan(0n);
      expect(tc.data.length).toBe(DATA_SIZE);
    }
  });

  it("emits words that capstone decodes", () => {
    const bytes = new Uint8Array(4);
    const dv = new DataView(bytes.buffer);
    const bad: string[] = [];
    for (let i = 0; i < CASES; i++) {
      for (const word of generateCase(1, i).words) {
        dv.setUint32(0, word, true);
        try {
          cs.disasm(bytes, { address: CODE_BASE });
        } catch {
          bad.push(word.toString(16));
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it.skipIf(!unicornAvailable().ok)("produces programs that run to the end on unicorn without faults", () => {
    const uc = new Unicorn();
    try {
      uc.memMap(CODE_BASE, 0x10000);
      uc.memMap(DATA_BASE, DATA_SIZE);
      for (let i = 0; i < CASES; i++) {
        const tc = generateCase(1, i);
        uc.writeCode(CODE_BASE, codeBytes(tc.words));
        uc.memWrite(DATA_BASE, tc.data);
        for (let n = 0; n <= 30; n++) uc.setX(n, tc.x[n]!);
        uc.setSP(tc.sp);
        const end = CODE_BASE + BigInt(4 * tc.words.length);
        const err = uc.emuStart(CODE_BASE, end);
        expect({ index: i, err: uc.strerror(err), pc: uc.getPC() }).toEqual({ index: i, err: uc.strerror(0), pc: end });
        expect(uc.getX(BASE_REG)).toBe(BASE_VALUE);
      }
    } finally {
      uc.close();
    }
  });
});
