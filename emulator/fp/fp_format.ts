// IEEE 754 binary formats as the Arm ARM's FP pseudocode sees them (N bits: sign, E exponent bits,
// F fraction bits), the FPCR/FPSR bits the arithmetic reads and writes, and the environment an FP
// operation runs in. Values travel as bigint bit patterns: never as JS numbers, whose NaN handling
// would rewrite payloads.

export interface FPFormat {
  readonly N: 16 | 32 | 64;
  readonly E: number;
  readonly F: number;
}

export const FP16: FPFormat = { N: 16, E: 5, F: 10 };
export const FP32: FPFormat = { N: 32, E: 8, F: 23 };
export const FP64: FPFormat = { N: 64, E: 11, F: 52 };

/** The format of a scalar FP instruction's `ftype` field (00 single, 01 double, 11 half). */
export function formatOfFtype(ftype: number): FPFormat | null {
  return ftype === 0 ? FP32 : ftype === 1 ? FP64 : ftype === 3 ? FP16 : null;
}

/** FPCR bits (D24.2.x FPCR). */
export const FPCR = {
  AHP: 1 << 26,
  DN: 1 << 25,
  FZ: 1 << 24,
  RMODE_SHIFT: 22,
  /** The bits an AArch64 FPCR holds here: no trapped exceptions, no FEAT_FP16 FZ16. */
  WRITABLE: (1 << 26) | (1 << 25) | (1 << 24) | (3 << 22),
} as const;

/** FPSR cumulative exception bits. */
export const FPSR = {
  IOC: 1 << 0,
  DZC: 1 << 1,
  OFC: 1 << 2,
  UFC: 1 << 3,
  IXC: 1 << 4,
  IDC: 1 << 7,
  QC: 1 << 27,
  WRITABLE: (1 << 27) | 0x9f,
} as const;

/**
 * Rounding modes: FPCR.RMode values 0..3, plus ties-away (FCVTA*, FRINTA) and round-to-odd
 * (FCVTXN) which FPCR cannot select.
 */
export const RM = { TIEEVEN: 0, POSINF: 1, NEGINF: 2, ZERO: 3, TIEAWAY: 4, ODD: 5 } as const;
export type Rounding = (typeof RM)[keyof typeof RM];

/** What an FP operation reads (FPCR) and accumulates into (FPSR): the CPU, or a bare object in tests. */
export interface FPEnv {
  fpcr: number;
  fpsr: number;
}

export function fpcrRounding(env: FPEnv): Rounding {
  return ((env.fpcr >>> FPCR.RMODE_SHIFT) & 3) as Rounding;
}

export const mask = (bits: number): bigint => (1n << BigInt(bits)) - 1n;

export function signBit(fmt: FPFormat): bigint {
  return 1n << BigInt(fmt.N - 1);
}

export function expMax(fmt: FPFormat): number {
  return (1 << fmt.E) - 1;
}

export function fpZero(fmt: FPFormat, sign: number): bigint {
  return sign ? signBit(fmt) : 0n;
}

export function fpInfinity(fmt: FPFormat, sign: number): bigint {
  return fpZero(fmt, sign) | (BigInt(expMax(fmt)) << BigInt(fmt.F));
}

export function fpMaxNormal(fmt: FPFormat, sign: number): bigint {
  return fpZero(fmt, sign) | (BigInt(expMax(fmt) - 1) << BigInt(fmt.F)) | mask(fmt.F);
}

/** FPDefaultNaN: positive, quiet, zero payload. */
export function fpDefaultNaN(fmt: FPFormat): bigint {
  return (BigInt(expMax(fmt)) << BigInt(fmt.F)) | (1n << BigInt(fmt.F - 1));
}

/** FPNeg / FPAbs: sign-bit operations that touch nothing else (NaNs included). */
export function fpNeg(fmt: FPFormat, op: bigint): bigint {
  return op ^ signBit(fmt);
}

export function fpAbs(fmt: FPFormat, op: bigint): bigint {
  return op & ~signBit(fmt);
}

/** Number of significant bits of a positive bigint. */
export function bitLength(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}
