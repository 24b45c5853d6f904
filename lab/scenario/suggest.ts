// "Did you mean …?" for a misspelt name in a scenario file (an event kind, an event field, a
// metric): the known names closest to what was written.

/** Edit distance between two short names (insertions, deletions, substitutions, transpositions). */
export function editDistance(a: string, b: string): number {
  // Rows i-2, i-1 and i of the table: a transposition looks two rows back.
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The known names near `name` (case ignored), best first: within a third of its length in edits
 * (at least 2), so that a typo finds its name and an unrelated word finds none.
 */
export function closestNames(name: string, known: Iterable<string>, limit = 3): string[] {
  const want = name.toLowerCase();
  const bound = Math.max(2, Math.floor(want.length / 3));
  const scored: { n: string; d: number }[] = [];
  for (const n of new Set(known)) {
    const d = editDistance(want, n.toLowerCase());
    if (d <= bound) scored.push({ n, d });
  }
  scored.sort((x, y) => x.d - y.d || x.n.localeCompare(y.n));
  return scored.slice(0, limit).map((x) => x.n);
}

/** ` (did you mean "a" or "b"?)`, or "" when no known name is near. */
export function didYouMean(name: string, known: Iterable<string>): string {
  const near = closestNames(name, known);
  if (near.length === 0) return "";
  const quoted = near.map((n) => `"${n}"`);
  return ` (did you mean ${quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(", ")} or ${quoted[quoted.length - 1]}`}?)`;
}
