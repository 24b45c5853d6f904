import { describe, expect, it } from "vitest";
import { Cpu } from "../../emulator/cpu.ts";
import { EC, esr, issOf, sysRegIss } from "../../emulator/exception.ts";
import { PhysMemory } from "../../emulator/memory.ts";
import {
  TLBI_TABLE, decodeTlbiOperand, setShareabilityDomain, tlbiByEncoding, tlbiByName, tlbiFromIss,
} from "../../emulator/tlbi.ts";
import { runAsm } from "../helpers/machine.ts";

const op = (name: string) => {
  const t = tlbiByName(name);
  if (!t) throw new Error(`no TLBI ${name}`);
  return t;
};

describe("TLBI table", () => {
  it("has unique encodings and names, each with an nXS twin at CRn=9", () => {
    const keys = new Set(TLBI_TABLE.map((t) => `${t.op1}/${t.crn}/${t.crm}/${t.op2}`));
    expect(keys.size).toBe(TLBI_TABLE.length);
    expect(new Set(TLBI_TABLE.map((t) => t.name)).size).toBe(TLBI_TABLE.length);
    for (const t of TLBI_TABLE.filter((x) => !x.nxs)) {
      const twin = tlbiByEncoding(t.op1, 9, t.crm, t.op2);
      expect(twin?.name).toBe(`${t.name}NXS`);
      expect(twin?.kind).toBe(t.kind);
    }
  });

  it("places the encodings of Arm ARM C5.5", () => {
    const enc = (n: string) => { const t = op(n); return [t.op1, t.crm, t.op2]; };
    expect(enc("VMALLE1")).toEqual([0, 7, 0]);
    expect(enc("VMALLE1IS")).toEqual([0, 3, 0]);
    expect(enc("VMALLE1OS")).toEqual([0, 1, 0]);
    expect(enc("VAE1IS")).toEqual([0, 3, 1]);
    expect(enc("VALE1")).toEqual([0, 7, 5]);
    expect(enc("VAALE1IS")).toEqual([0, 3, 7]);
    expect(enc("RVAE1IS")).toEqual([0, 2, 1]);
    expect(enc("RVAALE1OS")).toEqual([0, 5, 7]);
    expect(enc("ALLE1IS")).toEqual([4, 3, 4]);
    expect(enc("VMALLS12E1")).toEqual([4, 7, 6]);
    expect(enc("VAE2IS")).toEqual([4, 3, 1]);
    expect(enc("RVALE2")).toEqual([4, 6, 5]);
    expect(enc("IPAS2E1")).toEqual([4, 4, 1]);
    expect(enc("RIPAS2LE1IS")).toEqual([4, 0, 6]);
    expect(enc("IPAS2LE1OS")).toEqual([4, 4, 4]);
    expect(enc("RIPAS2E1OS")).toEqual([4, 4, 3]);
    expect(op("VALE1").lastLevel).toBe(true);
    expect(op("VAE1").lastLevel).toBe(false);
    expect(op("IPAS2E1IS").el2Only).toBe(true);
    expect(op("VAAE1OS").el2Only).toBe(false);
    expect(op("rvae1is").scope).toBe("IS");
  });

  it("decodes a trapped TLBI from its ISS", () => {
    expect(tlbiFromIss(sysRegIss(1, 4, 8, 0, 1, 3, false))?.name).toBe("IPAS2E1IS");
    expect(tlbiFromIss(sysRegIss(1, 0, 9, 7, 0, 31, false))?.name).toBe("VMALLE1NXS");
    expect(tlbiFromIss(sysRegIss(3, 4, 1, 1, 0, 3, false))).toBeUndefined(); // MSR, not SYS
    expect(tlbiFromIss(sysRegIss(1, 0, 7, 8, 0, 3, false))).toBeUndefined(); // AT
  });
});

describe("decodeTlbiOperand", () => {
  it("VA forms: ASID, VA[55:12] (sign-extended for EL1&0), TTL hint", () => {
    const x = (0x42n << 48n) | (0x6n << 44n) | 0x1234_5n; // TTL 0b0110: 4K, level 2
    expect(decodeTlbiOperand(op("VAE1IS"), x)).toEqual({ asid: 0x42, address: 0x1234_5000n, end: null, granule: 4096, level: 2 });
    const upper = 0xffff_8000_0040_2000n;
    const o = decodeTlbiOperand(op("VAAE1"), (0x7n << 48n) | ((upper >> 12n) & ((1n << 44n) - 1n)));
    expect(o.address).toBe(upper);
    expect(o.asid).toBeNull();
    const e2 = decodeTlbiOperand(op("VAE2"), (upper >> 12n) & ((1n << 44n) - 1n));
    expect(e2.address).toBe(0x00ff_8000_0040_2000n); // one VA range at EL2: no sign extension
  });

  it("ignores reserved TTL values", () => {
    expect(decodeTlbiOperand(op("VAE1"), 0x4n << 44n).granule).toBeNull(); // 4K level 0 (LPA2 only)
    expect(decodeTlbiOperand(op("VAE1"), 0xdn << 44n).granule).toBeNull(); // 64K level 1 (LPA only)
    expect(decodeTlbiOperand(op("VAE1"), 0xfn << 44n)).toMatchObject({ granule: 65536, level: 3 });
  });

  it("ASIDE1 and the VMALL forms", () => {
    expect(decodeTlbiOperand(op("ASIDE1"), 0xbeefn << 48n).asid).toBe(0xbeef);
    expect(decodeTlbiOperand(op("VMALLS12E1IS"), 0x1234n)).toEqual({ asid: null, address: null, end: null, granule: null, level: null });
  });

  it("range forms: [Base, Base + (NUM+1) * 2^(5*SCALE+1) * granule)", () => {
    // ASID 5, TG 4K, SCALE 1, NUM 3, TTL 3, BaseADDR 0x12345
    const x = (5n << 48n) | (1n << 46n) | (1n << 44n) | (3n << 39n) | (3n << 37n) | 0x12345n;
    expect(decodeTlbiOperand(op("RVAE1IS"), x)).toEqual({
      asid: 5,
      address: 0x1234_5000n,
      end: 0x1234_5000n + 4n * 64n * 4096n,
      granule: 4096,
      level: 3,
    });
    // 64K granule, BaseADDR top bit set: an upper-half VA range.
    const y = (3n << 46n) | (1n << 36n) | 0x10n;
    const r = decodeTlbiOperand(op("RVAAE1"), y);
    expect(r.address).toBe(BigInt.asUintN(64, (-(1n << 36n) + 0x10n) << 16n));
    expect(r.end! - r.address!).toBe(2n * 65536n);
    expect(decodeTlbiOperand(op("RVAE1"), 0x12345n).address).toBeNull(); // TG = 0: reserved
  });

  it("IPA forms: IPA[51:12] and the IPA range", () => {
    expect(decodeTlbiOperand(op("IPAS2LE1IS"), (0x7n << 44n) | 0x8_0000n)).toEqual({
      asid: null, address: 0x8000_0000n, end: null, granule: 4096, level: 3,
    });
    const r = decodeTlbiOperand(op("RIPAS2E1"), (1n << 63n) | (2n << 46n) | (0n << 44n) | (1n << 39n) | 0x40n);
    expect(r).toMatchObject({ asid: null, address: 0x40n << 14n, end: (0x40n << 14n) + 2n * 2n * 16384n, granule: 16384 });
  });
});

describe("TLBI execution", () => {
  const vmid = (v: number) => BigInt(v) << 48n;

  it("VAE1IS invalidates the VA for the current VMID and (8-bit) ASID", async () => {
    const { cpu, stop } = await runAsm("tlbi vae1is, x1\n brk #0", {
      setup: (c) => {
        c.sr.VTTBR_EL2 = vmid(0x1a7);
        c.setX(1, (0x1234n << 48n) | 0x4_0000n);
      },
    });
    expect(stop.kind).toBe("brk");
    expect(cpu.tlb.lastInvalidation).toMatchObject({ op: "va", vmid: 0xa7, asid: 0x34, start: 0x4000_0000n, lastLevelOnly: false });
  });

  it("honours VTCR_EL2.VS and TCR_EL1.AS widths", async () => {
    const { cpu } = await runAsm("tlbi vale1, x1\n brk #0", {
      setup: (c) => {
        c.sr.VTTBR_EL2 = vmid(0x1a7);
        c.sr.VTCR_EL2 = 1n << 19n;
        c.sr.TCR_EL1 = 1n << 36n;
        c.setX(1, (0x1234n << 48n) | 0x4_0000n);
      },
    });
    expect(cpu.tlb.lastInvalidation).toMatchObject({ op: "va", vmid: 0x1a7, asid: 0x1234, lastLevelOnly: true });
  });

  it("maps each EL1 kind onto the TLB", async () => {
    const cases: [string, bigint, object][] = [
      ["tlbi vmalle1", 0n, { op: "vmid-stage1", vmid: 3 }],
      ["tlbi aside1, x1", 9n << 48n, { op: "asid", vmid: 3, asid: 9 }],
      ["tlbi vaale1, x1", (9n << 48n) | 0x10n, { op: "va", asid: null, start: 0x10000n, lastLevelOnly: true }],
      ["sys #0, c8, c6, #3, x1", (1n << 46n) | 0x10n, { op: "va-range", asid: null, start: 0x10000n, end: 0x12000n }], // RVAAE1
      ["sys #0, c9, c2, #5, x1", (7n << 48n) | (1n << 46n) | 0x10n, { op: "va-range", asid: 7, lastLevelOnly: true }], // RVALE1ISNXS
    ];
    for (const [insn, xt, expected] of cases) {
      const { cpu, stop } = await runAsm(`${insn}\n brk #0`, {
        setup: (c) => {
          c.sr.VTTBR_EL2 = vmid(3);
          c.setX(1, xt);
        },
      });
      expect(stop.kind, insn).toBe("brk");
      expect(cpu.tlb.lastInvalidation, insn).toMatchObject(expected);
    }
  });

  it("is UNDEFINED at EL0", async () => {
    const { cpu, stop } = await runAsm("adr x9, user\n msr elr_el1, x9\n msr spsr_el1, xzr\n eret\nuser:\n tlbi vmalle1\n brk #0");
    expect(stop.kind).toBe("el1-exception");
    expect(cpu.sr.ESR_EL1).toBe(esr(EC.UNKNOWN, 0));
    expect(cpu.tlb.lastInvalidation).toBeNull();
  });

  it("HCR_EL2.TTLB traps every EL1 TLBI (incl. range and nXS) to EL2 before any effect", async () => {
    const cases: [string, number[]][] = [
      ["tlbi vmalle1", [0, 8, 7, 0, 31]],
      ["tlbi vae1is, x2", [0, 8, 3, 1, 2]],
      ["tlbi aside1, x3", [0, 8, 7, 2, 3]],
      ["sys #0, c8, c1, #7, x4", [0, 8, 1, 7, 4]], // VAALE1OS
      ["sys #0, c8, c2, #1, x5", [0, 8, 2, 1, 5]], // RVAE1IS
      ["sys #0, c9, c7, #0, xzr", [0, 9, 7, 0, 31]], // VMALLE1NXS
    ];
    for (const [insn, [op1, crn, crm, op2, rt]] of cases) {
      const { cpu, stop } = await runAsm(`nop\n ${insn}\n brk #0`, { setup: (c) => (c.sr.HCR_EL2 = 1n << 25n) });
      expect(stop.kind, insn).toBe("exit");
      if (stop.kind !== "exit") continue;
      expect(stop.exit.esr, insn).toBe(esr(EC.SYS64, sysRegIss(1, op1!, crn!, crm!, op2!, rt!, false)));
      expect(stop.exit.elr).toBe(0x80004n);
      expect(tlbiFromIss(issOf(stop.exit.esr))?.crm).toBe(crm);
      expect(cpu.tlb.lastInvalidation, insn).toBeNull();
    }
  });

  it("broadcasts IS forms (and local forms under HCR_EL2.FB) to the shareability domain", () => {
    const mem = new PhysMemory({ autoAllocate: true });
    const words = [0xd508831f, 0xd508871f, 0xd4200000]; // tlbi vmalle1is; tlbi vmalle1; brk #0
    words.forEach((w, i) => mem.write(0x8000 + 4 * i, 4, BigInt(w)));
    const cpus = [0, 1].map((index) => new Cpu(mem, { index, stopOnBrk: true }));
    setShareabilityDomain(cpus);
    const [a, b] = cpus as [Cpu, Cpu];
    a.resetTo(0x8000n);
    a.run(1);
    expect(b.tlb.lastInvalidation).toMatchObject({ op: "vmid-stage1", vmid: 0 });
    b.tlb.lastInvalidation = null;
    a.run(1); // local: this CPU only
    expect(a.tlb.lastInvalidation).not.toBeNull();
    expect(b.tlb.lastInvalidation).toBeNull();
    a.resetTo(0x8004n);
    a.sr.HCR_EL2 = 1n << 9n; // FB
    a.run(1);
    expect(b.tlb.lastInvalidation).not.toBeNull();
  });
});
