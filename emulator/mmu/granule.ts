// Translation granules (4K/16K/64K) and the per-level geometry of a VMSAv8-64 table walk
// (Arm ARM D8.2). Without FEAT_LPA/LPA2 the largest PA/IPA is 48 bits.

/** Physical address size implemented (ID_AA64MMFR0_EL1.PARange = 0b0101: 48 bits). */
export const PA_MAX_BITS = 48;

export interface Granule {
  readonly name: "4K" | "16K" | "64K";
  /** log2 of the granule (page/table) size. */
  readonly shift: 12 | 14 | 16;
  /** Input-address bits resolved per level: shift - 3. */
  readonly stride: 9 | 11 | 13;
}

export const GRANULE_4K: Granule = { name: "4K", shift: 12, stride: 9 };
export const GRANULE_16K: Granule = { name: "16K", shift: 14, stride: 11 };
export const GRANULE_64K: Granule = { name: "64K", shift: 16, stride: 13 };

/** TCR_EL1.TG0 / VTCR_EL2.TG0: 00 4K, 01 64K, 10 16K (11 reserved: behaves as 4K). */
export function granuleFromTg0(tg: number): Granule {
  return tg === 1 ? GRANULE_64K : tg === 2 ? GRANULE_16K : GRANULE_4K;
}

/** TCR_EL1.TG1: 01 16K, 10 4K, 11 64K (00 reserved: behaves as 4K). */
export function granuleFromTg1(tg: number): Granule {
  return tg === 1 ? GRANULE_16K : tg === 3 ? GRANULE_64K : GRANULE_4K;
}

/** log2 of the region one descriptor at `level` maps (the block size at that level). */
export function levelShift(g: Granule, level: number): number {
  return g.shift + (3 - level) * g.stride;
}

/**
 * Whether a Block descriptor is allowed at `level` (levels below 3). Without FEAT_LPA2 (DS=0) and
 * FEAT_LPA: 4K has 1G blocks at level 1 and 2M at level 2; 16K and 64K only at level 2.
 */
export function blockAllowed(g: Granule, level: number): boolean {
  if (level === 2) return true;
  return level === 1 && g.shift === 12;
}

/** Stage-1 start level for an input-address size (never concatenated). */
export function stage1StartLevel(g: Granule, iaBits: number): number {
  return 3 - Math.floor((iaBits - 1 - g.shift) / g.stride);
}

/** Input-address bits resolved at `startLevel` (> stride means concatenated start tables). */
export function startLevelBits(g: Granule, iaBits: number, startLevel: number): number {
  return iaBits - levelShift(g, startLevel);
}

/** Output-address size in bits for TCR_EL1.IPS / VTCR_EL2.PS, capped at the implemented PA size. */
export function outputSizeBits(ps: number): number {
  const bits = [32, 36, 40, 42, 44, 48, 52, 56][ps & 7]!;
  return Math.min(bits, PA_MAX_BITS);
}
