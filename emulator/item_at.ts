// Indexed reads whose index the caller has already bounded (a length check, a regex's mandatory
// group): one place that turns a broken invariant into a clear error instead of `undefined`.

/** `list[i]`, which the caller knows exists; throws naming `what` if it does not. */
export function itemAt<T>(list: ArrayLike<T>, i: number, what: string): T {
  const v = list[i];
  if (v === undefined) throw new Error(`internal error: no ${what} at index ${i} (of ${list.length})`);
  return v;
}

/** `record[key]`, which the caller knows exists (a library's constant table); throws naming `what` if not. */
export function keyAt<T>(record: Readonly<Record<string, T>>, key: string, what: string): T {
  const v = record[key];
  if (v === undefined) throw new Error(`internal error: ${what} has no '${key}'`);
  return v;
}
