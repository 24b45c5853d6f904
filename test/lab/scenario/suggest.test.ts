// "Did you mean": a typo finds the name it misspells (transpositions count as one edit), an
// unrelated word finds none.

import { describe, expect, it } from "vitest";
import { closestNames, didYouMean, editDistance } from "../../../lab/scenario/suggest.ts";

describe("did you mean", () => {
  it("counts a transposition as one edit", () => {
    expect(editDistance("shadow-fualt", "shadow-fault")).toBe(1);
    expect(editDistance("abc", "abc")).toBe(0);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("kitten", "sitting")).toBe(3);
  });

  it("suggests the nearest known names, best first, and nothing for an unrelated word", () => {
    expect(closestNames("shadowFualts", ["shadowFaults", "canonicalFaults", "exits.HVC64"])).toEqual(["shadowFaults"]);
    expect(closestNames("exits.HVC65", ["exits.SMC64", "exits.SVC64", "exits.HVC64"])).toEqual(["exits.HVC64", "exits.SVC64", "exits.SMC64"]);
    expect(closestNames("tlbi", ["shadowFaults", "canonicalFaults"])).toEqual([]);
    expect(didYouMean("Tlbi", ["tlbi"])).toBe(' (did you mean "tlbi"?)');
    expect(didYouMean("ab", ["ac", "ad", "xyz"])).toBe(' (did you mean "ac" or "ad"?)');
    expect(didYouMean("zzzz", ["tlbi"])).toBe("");
  });
});
