// Address and size text shared by the maps and translation views. Sizes read as the page-table
// block sizes people know (4K, 2M, 1G), so a shadow leaf's size and L1's are easy to compare.

/** "4K", "2M", "1G", "12K": the largest unit that divides the size exactly. */
export function formatSize(size: bigint): string {
  const units: [bigint, string][] = [[1n << 40n, "T"], [1n << 30n, "G"], [1n << 20n, "M"], [1n << 10n, "K"]];
  for (const [unit, name] of units) if (size >= unit && size % unit === 0n) return `${size / unit}${name}`;
  return `${size}B`;
}

/** "0x4000_0000": hex grouped by 16 bits, as the design notes write canonical IPAs. */
export function groupedHex(v: bigint): string {
  const digits = v.toString(16);
  const groups: string[] = [];
  for (let end = digits.length; end > 0; end -= 4) groups.unshift(digits.slice(Math.max(0, end - 4), end));
  return "0x" + groups.join("_");
}

/** Parses "0x4000_0000" or "40000000" (hex either way, "_" ignored); null when not a hex number. */
export function parseAddress(text: string): bigint | null {
  const t = text.trim().replace(/_/g, "").toLowerCase();
  const digits = t.startsWith("0x") ? t.slice(2) : t;
  if (!/^[0-9a-f]{1,16}$/.test(digits)) return null;
  return BigInt("0x" + digits);
}
