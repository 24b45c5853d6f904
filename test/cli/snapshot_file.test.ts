// The snapshot file format: what is written reads back the same, a file of another format or
// version is named as such, a malformed one gets each bad field's path, and an image's hash
// follows every byte, address and the entry point of what is loaded.

import { describe, expect, it } from "vitest";
import type { Image } from "../../asm/image.ts";
import { imageSha256, nvlabVersion, parseSnapshot, type SnapshotDoc, snapshotJson } from "../../cli/snapshot_file.ts";

const DOC: SnapshotDoc = {
  format: "nvlab-snapshot",
  version: 1,
  nvlab: "0.1.0",
  run: {
    kind: "images",
    l1: { file: "guests/l1/hyp.S", ipa: null },
    l2: [{ file: "guests/l2/hello.S", ipa: 0x4800_0000n }],
    format: "auto",
    memory: 0x1000_0000n,
    vcpus: 2,
    maxSteps: 50_000_000,
    unmap: "revmap",
    chaos: { seed: 7, rate: 50 },
    schedule: { policy: "random", quantum: 300 },
    engine: "interp",
    semihosting: { root: null, args: "-v", stdin: { file: "in.txt", sha256: "a".repeat(64) } },
  },
  images: [
    { file: "guests/l1/hyp.S", sha256: "0".repeat(64) },
    { file: "guests/l2/hello.S", sha256: "1".repeat(64) },
  ],
  step: 2000,
  fingerprint: "0123456789abcdef",
  console: "L1: hello\n",
};

/** DOC as JSON data, edited by `edit`, as text. */
function edited(edit: (d: Record<string, unknown> & { run: Record<string, unknown> }) => void): string {
  const d = JSON.parse(snapshotJson(DOC)) as Record<string, unknown> & { run: Record<string, unknown> };
  edit(d);
  return JSON.stringify(d);
}

function refusal(text: string): string {
  try {
    parseSnapshot(text, "x.snap");
  } catch (e) {
    return (e as Error).message;
  }
  return expect.unreachable();
}

describe("snapshot file", () => {
  it("reads back what it wrote; 64-bit values are 0x-hex strings", () => {
    const text = snapshotJson(DOC);
    expect(text).toContain('"memory": "0x10000000"');
    expect(text).toContain('"ipa": "0x48000000"');
    expect(parseSnapshot(text, "x.snap")).toEqual(DOC);
  });

  it("a scenario's run reads back too", () => {
    const doc: SnapshotDoc = { ...DOC, run: { kind: "scenario", scenario: { file: "scenarios/a.yaml", sha256: "b".repeat(64) }, overrides: { unmap: "accel", engine: "jit" } } };
    expect(parseSnapshot(snapshotJson(doc), "x.snap")).toEqual(doc);
  });

  it("a version-1 file edited to version 2 is refused by its version, naming the nvlab that wrote it", () => {
    const text = edited((d) => {
      d.version = 2;
      d.nvlab = "0.9.0";
      // A field version 1 does not know must not be what is reported.
      d.newField = true;
    });
    expect(refusal(text)).toBe("snapshot x.snap: made by nvlab 0.9.0 with format version 2; this nvlab reads version 1");
  });

  it("names other files for what they are: not JSON, not a snapshot", () => {
    expect(refusal("L1: hello")).toMatch(/^snapshot x\.snap: not a JSON file \(/);
    expect(refusal("[1, 2]")).toBe('snapshot x.snap: not an nvlab snapshot (which is a JSON object with "format": "nvlab-snapshot")');
    expect(refusal('{"format": "chrome-trace"}')).toBe('snapshot x.snap: not an nvlab snapshot (its "format" is "chrome-trace", not "nvlab-snapshot")');
    expect(refusal("{}")).toBe('snapshot x.snap: not an nvlab snapshot (its "format" is missing, not "nvlab-snapshot")');
  });

  it("a malformed file gets the path of every bad field", () => {
    const text = edited((d) => {
      d.run.memory = 268435456;
      d.run.vcpus = 0;
      (d.run.l2 as Record<string, unknown>[])[0]!.ipa = "0x4800_0000";
      delete d.fingerprint;
      d.step = -1;
      (d.images as Record<string, unknown>[])[1]!.sha256 = "abc";
      d.extra = 1;
    });
    const lines = refusal(text).split("\n");
    expect(lines[0]).toBe("snapshot x.snap: invalid:");
    expect(lines.slice(1).sort()).toEqual(
      [
        '  run.l2[0].ipa: expected a 0x-hex string of at most 16 lowercase digits, such as "0x48000000"',
        '  run.memory: expected a 0x-hex string such as "0x48000000"',
        "  run.vcpus: expected a positive integer",
        "  images[1].sha256: expected a SHA-256 (64 lowercase hex digits)",
        "  step: expected a non-negative integer",
        "  fingerprint: is required",
        '  (top level): unknown key "extra"',
      ].sort(),
    );
  });

  it("an unknown run kind or option value is named with its path", () => {
    expect(refusal(edited((d) => (d.run.kind = "debug")))).toContain('  run.kind: expected "images" or "scenario"');
    expect(refusal(edited((d) => (d.run.engine = "qemu")))).toContain("  run.engine: expected one of: interp, jit");
    expect(refusal(edited((d) => (d.run.chaos = { seed: 1, rate: 0 })))).toContain("  run.chaos.rate: expected a positive integer");
  });

  it("records this nvlab's version from package.json", () => {
    expect(nvlabVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe("imageSha256", () => {
  const image = (base: bigint, bytes: number[], entry = base): Image => ({
    file: "a.S",
    sections: [{ name: ".text", base, bytes: new Uint8Array(bytes) }],
    symbols: new Map(),
    constants: new Map(),
    entry,
  });

  it("follows the bytes, where they load and the entry point, not the file's name", () => {
    const h = imageSha256(image(0x1000n, [1, 2, 3, 4]));
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(imageSha256({ ...image(0x1000n, [1, 2, 3, 4]), file: "b.S" })).toBe(h);
    expect(imageSha256(image(0x1000n, [1, 2, 3, 5]))).not.toBe(h);
    expect(imageSha256(image(0x2000n, [1, 2, 3, 4]))).not.toBe(h);
    expect(imageSha256(image(0x1000n, [1, 2, 3, 4], 0x1004n))).not.toBe(h);
  });

  it("tells sections apart from one section holding both", () => {
    const two: Image = { ...image(0x1000n, [1, 2]), sections: [{ name: "a", base: 0x1000n, bytes: new Uint8Array([1, 2]) }, { name: "b", base: 0x1002n, bytes: new Uint8Array([3, 4]) }] };
    expect(imageSha256(two)).not.toBe(imageSha256(image(0x1000n, [1, 2, 3, 4])));
  });
});
