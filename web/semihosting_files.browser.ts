// emulator/semihosting_files.ts for the browser build (web/build.ts swaps it in): a page has no host
// directory to confine guests to, so every host file is refused with the errno a guest reads back.
// The console, the features file, the clocks and the command line need no host files and still work.

import type { HostFile } from "../emulator/semihosting_files.ts";

export type { HostFile };

export { ERRNO, openFlags, SemihostError } from "../emulator/semihosting_errno.ts";
import { ERRNO, SemihostError } from "../emulator/semihosting_errno.ts";

/** Run a host file operation, turning its failure into the errno the guest reads. */
export function hostCall<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof SemihostError) throw e;
    throw new SemihostError(ERRNO.EIO, e instanceof Error ? e.message : String(e));
  }
}

function noHostFiles(): never {
  throw new SemihostError(ERRNO.EACCES, "semihosting host files are not available in the browser");
}

/** Refuses every name: without a root as the CLI does, with one because a page has no host files. */
export function confinedPath(root: string | null, name: string): string {
  if (root === null) throw new SemihostError(ERRNO.EACCES, `no --semihosting-root: host file ${JSON.stringify(name)} refused`);
  return noHostFiles();
}

// No name passes confinedPath, so no host file is ever open; these only keep the module's shape.
export function openHostFile(_real: string, _mode: number): HostFile {
  return noHostFiles();
}

export function readHostFile(_f: HostFile, _n: number): Uint8Array {
  return noHostFiles();
}

export function writeHostFile(_f: HostFile, _bytes: Uint8Array): void {
  noHostFiles();
}

export function hostFileLength(_f: HostFile): number {
  return noHostFiles();
}

export function removeHostFile(_real: string): void {
  noHostFiles();
}

export function renameHostFile(_from: string, _to: string): void {
  noHostFiles();
}

export function closeHostFile(_f: HostFile): void {
  noHostFiles();
}
