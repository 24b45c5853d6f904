// The accelerator's value layout (seed 000): bits 63:2 of a canonical-tree value, one per group
// of 2^p shadow MMUs (bits 1:0 stay clear because of the range tree's reserved values).

/** Bits 63:2 of a value: 62 groups. */
export const ACCEL_USABLE_BITS = 62;
const FIRST_BIT = 2;

/** mmus_per_bit_power: the smallest p with 62 · 2^p ≥ n (1–62 MMUs → 0, 63–124 → 1, 125–248 → 2…). */
export function mmusPerBitPower(n: number): number {
  let p = 0;
  while (ACCEL_USABLE_BITS * 2 ** p < n) p++;
  return p;
}

/** The bit number (2..63) of the group holding MMU `index`. */
export function accelBit(index: number, power: number): number {
  return (index >> power) + FIRST_BIT;
}

/** The index of the first MMU of bit `bit`'s group. */
export function accelFirstMmu(bit: number, power: number): number {
  return (bit - FIRST_BIT) << power;
}

/** The set bit numbers of a value. */
export function accelBits(value: bigint): number[] {
  const bits: number[] = [];
  for (let b = FIRST_BIT; b < 64; b++) if ((value >> BigInt(b)) & 1n) bits.push(b);
  return bits;
}
