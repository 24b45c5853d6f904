// DecodeBitMasks (Arm ARM J1, shared pseudocode): the masks behind logical immediates and the
// bitfield instructions. Runs in `prepare` only, so bigint is fine here.

export interface BitMasks {
  /** wmask: the rotated element pattern, replicated to the data size. */
  wLo: number;
  wHi: number;
  /** tmask: the destination field mask used by the bitfield instructions. */
  tLo: number;
  tHi: number;
}

const ones = (n: number): bigint => (1n << BigInt(n)) - 1n;

function replicate(elem: bigint, esize: number, m: number): bigint {
  let r = 0n;
  for (let i = 0; i < m; i += esize) r |= elem << BigInt(i);
  return r;
}

function rorElem(v: bigint, r: number, esize: number): bigint {
  if (r === 0) return v;
  return ((v >> BigInt(r)) | (v << BigInt(esize - r))) & ones(esize);
}

/**
 * The masks for (N, imms, immr) at data size `m`, or null when the encoding is reserved.
 * `immediate` marks a logical immediate, where an all-ones element is reserved too.
 */
export function decodeBitMasks(n: number, imms: number, immr: number, immediate: boolean, m: 32 | 64): BitMasks | null {
  const combined = (n << 6) | (~imms & 0x3f);
  if (combined === 0) return null;
  const len = 31 - Math.clz32(combined);
  if (len < 1) return null;
  const esize = 1 << len;
  if (esize > m) return null;
  const levels = esize - 1;
  if (immediate && (imms & levels) === levels) return null;
  const s = imms & levels;
  const r = immr & levels;
  const d = (s - r) & levels;
  const wmask = replicate(rorElem(ones(s + 1), r, esize), esize, m);
  const tmask = replicate(ones(d + 1), esize, m);
  return {
    wLo: Number(wmask & 0xffffffffn),
    wHi: Number(wmask >> 32n),
    tLo: Number(tmask & 0xffffffffn),
    tHi: Number(tmask >> 32n),
  };
}
