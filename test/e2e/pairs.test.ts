// Every shipped L1/L2 pair runs on nvlab (L1 at virtual EL2 under L0) and prints exactly the
// console output QEMU prints with L1 at real EL2 (test/qemu/pairs.ts), with the exit code L1 passes
// to SYSTEM_OFF. Where QEMU is installed, the same test also boots the pair there and compares
// the two consoles directly.

import { describe, expect, it } from "vitest";
import { GUEST_PAIRS } from "../qemu/pairs.ts";
import { qemuAvailable, runOnQemu } from "../qemu/qemu.ts";
import { runPair } from "./harness.ts";

const haveQemu = qemuAvailable();
if (!haveQemu) {
  console.warn(
    "qemu-system-aarch64 not found: SKIPPING the nvlab-vs-QEMU half of test/e2e/pairs.test.ts " +
      "(only the recorded QEMU output is compared; apt-get install qemu-system-arm)",
  );
}

describe("shipped guest pairs on nvlab ≡ QEMU", () => {
  for (const pair of GUEST_PAIRS) {
    it(`${pair.name}: expected console and exit code ${pair.exitCode}${haveQemu ? ", same as a live QEMU run" : ""}`, async () => {
      // QEMU runs in its own process while nvlab runs here.
      const onQemu = haveQemu ? runOnQemu({ l1: pair.l1, l2: pair.l2, timeoutMs: 15_000, vcpus: pair.vcpus ?? 1 }) : null;
      const r = await runPair(pair.l1, pair.l2, { config: { vcpus: pair.vcpus ?? 1 } });
      expect(r.console).toBe(pair.expected);
      expect(r.outcome).toEqual({ kind: "system-off", code: pair.exitCode });
      if (onQemu) {
        const q = await onQemu;
        expect(q.exitedCleanly, `QEMU did not power off: ${q.stderr}`).toBe(true);
        expect(r.console).toBe(q.console);
      }
    }, 30_000);
  }
});
