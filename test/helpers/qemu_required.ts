// Whether the QEMU cross-checks can run: without qemu-system-aarch64 they are skipped with a
// warning, except under CI=true, where a missing QEMU is a broken setup and fails the suite.

import { qemuAvailable } from "../../lab/qemu.ts";

export function qemuForTests(what: string): boolean {
  if (qemuAvailable()) return true;
  if (process.env.CI === "true") throw new Error(`qemu-system-aarch64 not found and CI=true: ${what} must run in CI (.ci/run installs qemu-system-arm)`);
  console.warn(`qemu-system-aarch64 not found: SKIPPING ${what} (apt-get install qemu-system-arm)`);
  return false;
}
