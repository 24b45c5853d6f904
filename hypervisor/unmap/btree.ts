// sorted-btree's B+ tree, reached the same way under Node's ESM loader and under bundlers, with the
// bigint comparator every L0 user needs (the package's default comparator is written for numbers
// and strings; an explicit total order on bigint keeps the tree's ordering beyond doubt).

import BTreeImport from "sorted-btree";

/**
 * sorted-btree is CommonJS with `exports.default = BTree`: Node hands an ESM importer the whole
 * `module.exports`, bundlers hand it `exports.default`. Accept either.
 */
const BTreeClass: typeof BTreeImport =
  (BTreeImport as unknown as { default?: typeof BTreeImport }).default ?? BTreeImport;

export type BTree<K, V> = BTreeImport<K, V>;

/** Total order on bigint keys, as sorted-btree expects (negative, zero, positive). */
export function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** An empty B+ tree keyed by bigint. */
export function bigintBTree<V>(): BTree<bigint, V> {
  return new BTreeClass<bigint, V>(undefined, compareBigint);
}
