// Most A64 data-processing encodings have a 32-bit (sf=0) and a 64-bit (sf=1) variant. Giving each
// variant its own decode row lets both handlers stay branch-free on the size.

import type { CpuState } from "../cpu_state.ts";
import { type Encoding, type Format, type Op, encoding } from "../decode.ts";

export interface SizedEncoding<F> {
  /** Base name; rows are `<name>_64` and `<name>_32`. */
  name: string;
  /** The 31 pattern bits below sf (bit 31), same token syntax as `Encoding.pattern`. */
  pattern: string;
  /** Shared fields and derivation (its pattern's bit 31 is a don't-care: the variant sets it). */
  format?: Format<F>;
  /** Row constants, as in `Encoding.data`. */
  data?: Readonly<Partial<F>>;
  /** Validation/derivation as in `Encoding.prepare`; `f.sf` is already set to the variant. */
  prepare?: (f: F & { sf: number } & Record<string, number>, word: number) => boolean | void;
  x: (cpu: CpuState, op: F & Op) => void;
  w: (cpu: CpuState, op: F & Op) => void;
}

/** The 64-bit and 32-bit rows of one instruction form. */
export function sized<F>(e: SizedEncoding<F>): Encoding<never>[] {
  const variant = (sf: 0 | 1): Encoding<never> =>
    encoding<F & { sf: number }>({
      name: `${e.name}_${sf ? 64 : 32}`,
      pattern: `${sf} ${e.pattern}`,
      format: e.format,
      // sf first, so that the format's and the row's derivations both see the variant.
      data: { sf, ...(e.data as Readonly<Record<string, number>> | undefined) },
      prepare: e.prepare,
      exec: sf ? e.x : e.w,
    });
  return [variant(1), variant(0)];
}
