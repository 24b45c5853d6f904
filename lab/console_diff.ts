// A unified diff (`diff -u`) of two console outputs, line by line: what `--qemu` prints when the
// guest wrote something different on nvlab than on QEMU.

/** Most cells of the longest-common-subsequence table; beyond it the differing middle is shown whole. */
const LCS_MAX_CELLS = 4_000_000;

type Op = { kind: " " | "-" | "+"; line: string };

/** Lines with their ends kept, so a missing final newline is a difference too. */
function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** The edit script turning `a` into `b`: common prefix and suffix, an LCS over what lies between. */
function editScript(a: string[], b: string[]): Op[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const am = a.slice(pre, a.length - suf);
  const bm = b.slice(pre, b.length - suf);
  const ops: Op[] = a.slice(0, pre).map((line) => ({ kind: " ", line }));
  ops.push(...middle(am, bm));
  ops.push(...a.slice(a.length - suf).map((line): Op => ({ kind: " ", line })));
  return ops;
}

function middle(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  if (n * m > LCS_MAX_CELLS) return [...a.map((line): Op => ({ kind: "-", line })), ...b.map((line): Op => ({ kind: "+", line }))];
  // lcs[i*(m+1)+j]: length of the LCS of a[i..] and b[j..].
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] = a[i] === b[j] ? lcs[(i + 1) * (m + 1) + j + 1]! + 1 : Math.max(lcs[(i + 1) * (m + 1) + j]!, lcs[i * (m + 1) + j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: " ", line: a[i++]! });
      j++;
    } else if (i < n && (j === m || lcs[(i + 1) * (m + 1) + j]! >= lcs[i * (m + 1) + j + 1]!)) ops.push({ kind: "-", line: a[i++]! });
    else ops.push({ kind: "+", line: b[j++]! });
  }
  return ops;
}

/** One diff line; a line without its newline is followed by diff's marker for it. */
function render(op: Op): string {
  return op.line.endsWith("\n") ? op.kind + op.line : `${op.kind}${op.line}\n\\ No newline at end of file\n`;
}

/** `@@ -start,count` as diff writes it: a count of 1 is left out, an empty range names the line before it. */
function range(start: number, count: number): string {
  return count === 1 ? String(start) : `${count === 0 ? start - 1 : start},${count}`;
}

/**
 * The unified diff of `a` (labelled `aName`) and `b`, with `context` unchanged lines around each
 * change; "" when they are equal.
 */
export function unifiedDiff(a: string, b: string, aName: string, bName: string, context = 3): string {
  if (a === b) return "";
  const ops = editScript(splitLines(a), splitLines(b));
  const changed = ops.flatMap((op, k) => (op.kind === " " ? [] : [k]));
  let out = `--- ${aName}\n+++ ${bName}\n`;
  let k = 0;
  while (k < changed.length) {
    // A hunk: changes closer than 2 × context lines share one.
    let last = k;
    while (last + 1 < changed.length && changed[last + 1]! - changed[last]! <= 2 * context) last++;
    const from = Math.max(0, changed[k]! - context);
    const to = Math.min(ops.length, changed[last]! + context + 1);
    let aLine = 1;
    let bLine = 1;
    for (const op of ops.slice(0, from)) {
      if (op.kind !== "+") aLine++;
      if (op.kind !== "-") bLine++;
    }
    const hunk = ops.slice(from, to);
    const aCount = hunk.filter((op) => op.kind !== "+").length;
    const bCount = hunk.filter((op) => op.kind !== "-").length;
    out += `@@ -${range(aLine, aCount)} +${range(bLine, bCount)} @@\n` + hunk.map(render).join("");
    k = last + 1;
  }
  return out;
}
