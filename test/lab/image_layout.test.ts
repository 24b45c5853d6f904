// Image layouts the L1s cannot run are refused before anything loads, with both images and the
// L2 windows named; before, they loaded and failed later as an unrelated guest error.

import { describe, expect, it } from "vitest";
import { assemble, assembleFile } from "../../asm/assembler.ts";
import type { Image } from "../../asm/image.ts";
import { GuestError } from "../../hypervisor/errors.ts";
import { checkImageLayout, L2_WINDOW_BASE, L2_WINDOW_SIZE } from "../../lab/image_layout.ts";
import { runVm } from "../../lab/run.ts";
import { nvlab } from "../helpers/bin.ts";

const WINDOWS = /L2 #n from its window at canonical 0x48000000 \+ n × 0x1000000 \(0x48000000, 0x49000000, 0x4a000000, …\).*guests\/README\.md/;

/** An image of `bytes` bytes assembled at `base`, with the given constants. */
async function image(file: string, bytes: number, base: bigint, equ: Record<string, number> = {}): Promise<Image> {
  const defs = Object.entries(equ).map(([k, v]) => `.equ ${k}, ${v}\n`).join("");
  return assemble(`${defs}start: nop\n .skip ${bytes - 4}\n`, { file, base });
}

function refusal(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GuestError);
    return (e as GuestError).message;
  }
  throw new Error("the layout was accepted");
}

describe("checkImageLayout", () => {
  it("accepts L1 at its default address and L2s at the start of the windows L1 runs", async () => {
    const l1 = await image("l1.S", 0x2000, 0x4010_0000n, { NUM_L2: 2 });
    const l2 = [
      { image: await image("a.S", 0x100, 0x4800_0000n), ipa: 0x4800_0000n },
      { image: await image("b.S", Number(L2_WINDOW_SIZE), 0x4900_0000n), ipa: 0x4900_0000n },
    ];
    expect(() => checkImageLayout({ image: l1, ipa: null }, l2, 1)).not.toThrow();
  });

  it("an L2 overlapping another: both images and ranges named", async () => {
    const l1 = await image("l1.S", 0x2000, 0x4010_0000n);
    const a = await image("a.S", 0x100, 0x4800_0000n);
    const b = await image("b.S", 0x40, 0x4800_0000n);
    expect(refusal(() => checkImageLayout({ image: l1, ipa: null }, [{ image: a, ipa: 0x4800_0000n }, { image: b, ipa: 0x4800_0000n }], 1))).toMatch(
      /^images overlap: L2 image a\.S at 0x48000000\.\.0x48000100 and L2 image b\.S at 0x48000000\.\.0x48000040; each image needs bytes of its own/,
    );
  });

  it("an L2 overlapping L1 (L1 placed in a window)", async () => {
    const l1 = await image("l1.S", 0x2000, 0x4800_0000n);
    const a = await image("a.S", 0x100, 0x4800_0000n);
    expect(refusal(() => checkImageLayout({ image: l1, ipa: 0x4800_0000n }, [{ image: a, ipa: 0x4800_0000n }], 1))).toMatch(
      /^images overlap: L1 image l1\.S at 0x48000000\.\.0x48002000 and L2 image a\.S at 0x48000000\.\.0x48000100/,
    );
  });

  it.each([
    ["inside a window", 0x4800_1000n],
    ["in L1's RAM below the windows", 0x4010_0000n],
    ["at the UART", 0x0900_0000n],
  ])("an L2 not at the start of a window (%s): the windows explained", async (_what, ipa) => {
    const l1 = await image("l1.S", 0x100, 0x4010_0000n);
    const a = await image("a.S", 0x100, ipa);
    const m = refusal(() => checkImageLayout({ image: l1, ipa: null }, [{ image: a, ipa }], 1));
    expect(m).toMatch(new RegExp(`^L2 image a\\.S at 0x${ipa.toString(16)} is not at the start of an L2 window: `));
    expect(m).toMatch(WINDOWS);
  });

  it("an L2 larger than its 16 MiB window", async () => {
    const l1 = await image("l1.S", 0x100, 0x4010_0000n);
    const big = await image("big.S", Number(L2_WINDOW_SIZE) + 4, L2_WINDOW_BASE);
    expect(refusal(() => checkImageLayout({ image: l1, ipa: null }, [{ image: big, ipa: L2_WINDOW_BASE }], 1))).toMatch(
      /^L2 image big\.S at 0x48000000\.\.0x49000004 does not fit in L2 #0's window 0x48000000\.\.0x49000000: /,
    );
  });

  it("a window the L1 runs left empty when L2s are given: NUM_L2, or one per vCPU for the SMP L1s", async () => {
    const l1 = async (f: string) => ({ image: await assembleFile(`guests/l1/${f}`, { base: 0x4010_0000n }), ipa: null });
    const [hyp, multi, smp, shared] = await Promise.all(["hyp.S", "multi.S", "smp.S", "smp_shared.S"].map(l1));
    const win = (n: bigint) => L2_WINDOW_BASE + n * L2_WINDOW_SIZE;
    const l2 = await Promise.all([0n, 1n, 2n, 3n, 4n, 5n].map(async (n) => ({ image: await image(`w${n}.S`, 0x100, win(n)), ipa: win(n) })));
    expect(refusal(() => checkImageLayout(hyp!, [l2[1]!], 1))).toMatch(
      /^L1 guests\/l1\/hyp\.S runs L2 #0\.\.#0 \(its NUM_L2 is 1\), but no L2 image is loaded at L2 #0's window 0x48000000: /,
    );
    // An L1 alone, and L2s in windows the L1 never runs, are fine.
    expect(() => checkImageLayout(hyp!, [], 1)).not.toThrow();
    expect(() => checkImageLayout(hyp!, l2.slice(0, 2), 1)).not.toThrow();
    expect(() => checkImageLayout(multi!, l2, 1)).not.toThrow();
    expect(refusal(() => checkImageLayout(multi!, l2.slice(0, 5), 1))).toMatch(/multi\.S runs L2 #0\.\.#5 \(its NUM_L2 is 6\), but no L2 image is loaded at L2 #5's window 0x4d000000/);
    expect(() => checkImageLayout(smp!, l2.slice(0, 2), 2)).not.toThrow();
    expect(refusal(() => checkImageLayout(smp!, l2.slice(0, 2), 8))).toMatch(/smp\.S runs L2 #0\.\.#3 \(vCPU n runs L2 #n, on 8 vCPUs \(at most MAX_VCPUS = 4\)\), but no L2 image is loaded at L2 #2's window/);
    expect(() => checkImageLayout(shared!, l2.slice(0, 1), 4)).not.toThrow();
  });
});

describe("refused before running", () => {
  it("runVm: a load-stage error, no instruction run", async () => {
    const l1 = await image("l1.S", 0x100, 0x4010_0000n);
    const a = await image("a.S", 0x100, 0x4800_0000n);
    const r = runVm({ l1, l2: [{ image: a, ipa: 0x4800_0000n }, { image: a, ipa: 0x4800_0000n }] });
    expect(r.outcome).toMatchObject({ kind: "guest-error", stage: "load", message: expect.stringMatching(/^images overlap: L2 image a\.S/) as unknown });
    expect(r.steps).toBe(0);
  });

  it.each([
    ["an L2 overlapping another", ["--l2", "guests/l2/hello.S@0x48000000", "--l2", "guests/l2/uart.S@0x48000000"], /^nvlab: images overlap: L2 image guests\/l2\/hello\.S at 0x48000000\.\.0x[0-9a-f]+ and L2 image guests\/l2\/uart\.S/m],
    ["an L2 inside a window (it used to end with L1's exit 3)", ["--l2", "guests/l2/hello.S@0x48100000"], /^nvlab: L2 image guests\/l2\/hello\.S at 0x48100000 is not at the start of an L2 window: /m],
    ["an L2 in window 1 only, hyp.S runs window 0 (it used to end with L1's exit 3)", ["--l2", "guests/l2/hello.S@0x49000000"], /^nvlab: L1 guests\/l1\/hyp\.S runs L2 #0\.\.#0 \(its NUM_L2 is 1\), but no L2 image is loaded at L2 #0's window 0x48000000/m],
  ])("nvlab run, %s: exit 1 before anything runs", async (_what, args, message) => {
    const r = await nvlab("run", "--l1", "guests/l1/hyp.S", ...args);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(WINDOWS);
  });
});
