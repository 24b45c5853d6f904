// A float-heavy real code base the repository does not hold: libopus 1.3.1 (CELT, SILK and the
// float analysis; about 38,000 lines) from the `@discordjs/opus` npm package, fetched once per
// clone and checked against its pinned integrity (lab/third_party.ts), built against picolibc as
// ordinary C at -O2 and -O3 with guests/c/opus/opus_check.c, which encodes a generated signal in
// four configurations and decodes every packet. QEMU must run it to PASS, and nvlab must print
// QEMU's console byte for byte (packet and PCM hashes included), from the ELF and from the raw image.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { qemuForTests } from "../helpers/qemu_required.ts";
import { nvlab } from "../helpers/bin.ts";
import { opusSourcesForTests, picolibcForTests } from "./programs_required.ts";
import { type Built, makeProgram, OPT_LEVELS, simdFpInstructionCount, WAITING_FOR } from "./simd_programs.ts";

const havePicolibc = picolibcForTests("the libopus program");
const opusDir = havePicolibc ? await opusSourcesForTests("the libopus program") : null;
const haveQemu = opusDir !== null && qemuForTests("the libopus program on QEMU");
const MAX_STEPS = 2_000_000_000;
const PASS = /^opus_check: PASS \(4 configurations\)$/m;
const CONFIG_LINE = /^ {2}\S.* +\d+ bytes {2}packets [0-9a-f]{8} {2}pcm [0-9a-f]{8} {2}ok$/gm;

interface ExecJson {
  stop: { kind: string; code?: number };
  console: string;
  qemu: { same: boolean; console: string; diff?: string };
}

async function execQemu(...args: string[]): Promise<{ code: number; json: ExecJson }> {
  const root = mkdtempSync(join(tmpdir(), "nvlab-opus-"));
  const r = await nvlab("exec", ...args, "--semihosting", "--semihosting-root", root, "--qemu", "--qemu-timeout", "120", "--json", "--max-steps", String(MAX_STEPS));
  expect(r.stderr).toBe("");
  return { code: r.code, json: JSON.parse(r.stdout) as ExecJson };
}

for (const o of OPT_LEVELS) {
  const name = `opus_check_${o}`;
  let built: Built | null = null;
  const program = (): Built => (built ??= makeProgram(name, "gcc", { OPUS_SRC: opusDir! }));

  describe.runIf(opusDir !== null)(`libopus (fetched from npm) as ${name}`, () => {
    it("is built to use the SIMD&FP unit throughout (float codec, vectorized loops)", () => {
      expect(simdFpInstructionCount(program().elf)).toBeGreaterThan(5000);
    }, 600_000);

    it.runIf(haveQemu)("runs to PASS on QEMU: four configurations, every packet decoded with matching range coder state", async () => {
      const { json } = await execQemu(program().elf);
      expect(json.qemu.console).toMatch(/^opus_check: libopus 1\.3\.1, 4 configurations x 10 frames of 20 ms$/m);
      expect(json.qemu.console.match(CONFIG_LINE)).toHaveLength(4);
      expect(json.qemu.console).toMatch(PASS);
    }, 600_000);

    // Skipped while WAITING_FOR names what nvlab still lacks for this image.
    it.skipIf(WAITING_FOR[`gcc ${name}`] !== undefined || !haveQemu)("prints QEMU's console on nvlab, from the ELF and from the raw image, and PASS with SYS_EXIT 0", async () => {
      for (const args of [[program().elf], [program().bin, "--base", "0x40100000"]]) {
        const { code, json } = await execQemu(...args);
        expect(json.qemu.diff ?? "").toBe("");
        expect(json.qemu.same).toBe(true);
        expect(json.console).toMatch(PASS);
        expect(json.stop).toMatchObject({ kind: "semihosting-exit", code: 0 });
        expect(code).toBe(0);
      }
    }, 600_000);
  });
}
