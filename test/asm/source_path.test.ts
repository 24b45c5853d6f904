import { posix } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { basename, dirname, extname, isAbsolute, join, normalize, resolve } from "../../asm/source_path.ts";

/** Paths built from the characters that matter to path arithmetic: separators, dots, names. */
const pathArb = fc.array(fc.constantFrom("/", ".", "a", "b", "ab", ".."), { maxLength: 12 }).map((parts) => parts.join(""));

describe("source_path: node:path's posix results without Node", () => {
  it("dirname, basename, extname, normalize and isAbsolute agree with node:path.posix", () => {
    fc.assert(
      fc.property(pathArb, (p) => {
        expect(dirname(p)).toBe(posix.dirname(p));
        expect(basename(p)).toBe(posix.basename(p));
        expect(extname(p)).toBe(posix.extname(p));
        expect(normalize(p)).toBe(posix.normalize(p));
        expect(isAbsolute(p)).toBe(posix.isAbsolute(p));
      }),
      { numRuns: 2000 },
    );
  });

  it("join agrees with node:path.posix", () => {
    fc.assert(
      fc.property(fc.array(pathArb, { maxLength: 4 }), (parts) => {
        expect(join(...parts)).toBe(posix.join(...parts));
      }),
      { numRuns: 2000 },
    );
  });

  it("resolve from a working directory agrees with node:path.posix.resolve", () => {
    fc.assert(
      fc.property(fc.array(pathArb, { maxLength: 4 }), (parts) => {
        expect(resolve("/work/dir", ...parts)).toBe(posix.resolve("/work/dir", ...parts));
      }),
      { numRuns: 2000 },
    );
  });

  it("resolves a scenario's image path the way the CLI does", () => {
    expect(resolve("/repo", dirname("scenarios/tlb_stale.yaml"), "../guests/l1/hyp.S")).toBe("/repo/guests/l1/hyp.S");
    expect(join(dirname("guests/l1/hyp.S"), "lib/defs.S")).toBe("guests/l1/lib/defs.S");
    expect(extname("guests/l2/blob.BIN")).toBe(".BIN");
    expect(basename("/x/guests/l1/hyp.S")).toBe("hyp.S");
  });

  it("keeps a relative result relative when no working directory is given (the browser's file set)", () => {
    expect(resolve("", dirname("scenarios/tlb_stale.yaml"), "../guests/l1/hyp.S")).toBe("guests/l1/hyp.S");
    expect(resolve("scenarios", "guests/region.S")).toBe("scenarios/guests/region.S");
    expect(resolve("scenarios", "/abs/x.S")).toBe("/abs/x.S");
    expect(resolve("a", "../../x.S")).toBe("../x.S");
    expect(resolve("a", "..")).toBe(".");
    expect(resolve()).toBe(".");
  });
});
