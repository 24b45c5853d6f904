// A scenario file written to a fresh temporary directory: hyp.S as L1 and one shipped L2 at the
// first L2 window, then the YAML `body` (vm, timeline, expect…). The images are named by absolute
// path, so the file runs from anywhere.

import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../qemu/pairs.ts";

/** Writes the scenario and returns its path; `l2` names a file of guests/l2 without `.S`. */
export async function scenarioFile(body: string, l2 = "hello", name = "t"): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), "nvlab-scenario-")), `${name}.yaml`);
  await writeFile(
    file,
    `name: ${name}
images:
  l1: {file: ${join(REPO_ROOT, "guests/l1/hyp.S")}}
  l2: [{file: ${join(REPO_ROOT, `guests/l2/${l2}.S`)}, ipa: 0x48000000}]
${body}`,
  );
  return file;
}
