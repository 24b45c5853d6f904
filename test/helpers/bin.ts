// The real `nvlab` command (cli/nvlab.js) as the tests run it: status and output, even on a
// non-zero exit.

import { execFile } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const exec = promisify(execFile);
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface BinResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function nvlab(...args: string[]): Promise<BinResult> {
  try {
    const r = await exec("node", ["cli/nvlab.js", ...args], { cwd: REPO_ROOT, maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as BinResult;
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
