import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { unifiedDiff } from "../../lab/console_diff.ts";

describe("unifiedDiff", () => {
  it("is empty for equal consoles", () => {
    expect(unifiedDiff("a\nb\n", "a\nb\n", "nvlab", "qemu")).toBe("");
  });

  it("shows a changed line with its context, as diff -u does", () => {
    const a = "1\n2\n3\n4\n5\n6\n7\n8\n";
    const b = "1\n2\n3\n4\nfive\n6\n7\n8\n";
    expect(unifiedDiff(a, b, "nvlab", "qemu")).toBe("--- nvlab\n+++ qemu\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
  });

  it("separates changes far apart into hunks and counts insertions and deletions", () => {
    const lines = Array.from({ length: 20 }, (_, i) => `l${i}\n`);
    const a = lines.join("");
    const b = ["extra\n", ...lines.slice(0, 15), ...lines.slice(16)].join("");
    expect(unifiedDiff(a, b, "a", "b")).toBe(
      "--- a\n+++ b\n@@ -1,3 +1,4 @@\n" +
        "+extra\n l0\n l1\n l2\n@@ -13,7 +14,6 @@\n l12\n l13\n l14\n-l15\n l16\n l17\n l18\n",
    );
  });

  it("marks a missing final newline, and an empty side", () => {
    expect(unifiedDiff("x\n", "x", "a", "b")).toBe("--- a\n+++ b\n@@ -1 +1 @@\n-x\n+x\n\\ No newline at end of file\n");
    expect(unifiedDiff("", "y\n", "a", "b")).toBe("--- a\n+++ b\n@@ -0,0 +1 @@\n+y\n");
  });

  it("agrees with diff -u where diff is installed", () => {
    const dir = mkdtempSync(join(tmpdir(), "nvlab-diff-"));
    const a = "L1: hello\nremap: before 1\nremap: after 1\nL1: off\n";
    const b = "L1: hello\nremap: before 1\nremap: after 2\nL1: off\nextra\n";
    writeFileSync(join(dir, "a"), a);
    writeFileSync(join(dir, "b"), b);
    const r = spawnSync("diff", ["-u", "--label", "a", "--label", "b", "a", "b"], { cwd: dir, encoding: "utf8" });
    if (r.error) return;
    expect(unifiedDiff(a, b, "a", "b")).toBe(r.stdout);
  });
});
