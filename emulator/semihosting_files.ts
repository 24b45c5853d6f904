// The host side of semihosting's file operations, confined to one directory the user names
// (--semihosting-root). Without a root no host file can be opened at all: a guest program must not
// reach the user's files unless asked to. The browser build swaps in web/semihosting_files.browser.ts
// (the same exports), which refuses every host file: keep the two modules' exports alike.

import * as fs from "node:fs";
import * as path from "node:path";

export { ERRNO, openFlags, SemihostError } from "./semihosting_errno.ts";
import { ERRNO, openFlags, SemihostError } from "./semihosting_errno.ts";

function errnoOf(e: unknown): number {
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" && code in ERRNO) return ERRNO[code as keyof typeof ERRNO];
  return ERRNO.EIO;
}

/** Run a host file operation, turning its failure into the errno the guest reads. */
export function hostCall<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof SemihostError) throw e;
    throw new SemihostError(errnoOf(e), e instanceof Error ? e.message : String(e));
  }
}

/**
 * Resolve a guest file name inside `root`, refusing what could leave it: absolute names, any `..`
 * component, and symbolic links (at any depth) whose target lies outside the root. The file itself
 * need not exist (a write mode creates it); its directory must.
 */
export function confinedPath(root: string | null, name: string): string {
  if (root === null) throw new SemihostError(ERRNO.EACCES, `no --semihosting-root: host file ${JSON.stringify(name)} refused`);
  if (name === "" || name.includes("\0")) throw new SemihostError(ERRNO.ENOENT, "empty or malformed file name");
  if (path.isAbsolute(name) || name.split(/[\\/]/).includes("..")) {
    throw new SemihostError(ERRNO.EACCES, `file name ${JSON.stringify(name)} would leave the semihosting root`);
  }
  const realRoot = hostCall(() => fs.realpathSync(root));
  const full = path.join(realRoot, name);
  // Resolve links: the file's own if it exists, else its directory's (the file will be created there).
  const real = hostCall(() => (fs.existsSync(full) ? fs.realpathSync(full) : path.join(fs.realpathSync(path.dirname(full)), path.basename(full))));
  if (real !== realRoot && !real.startsWith(realRoot + path.sep)) {
    throw new SemihostError(ERRNO.EACCES, `file name ${JSON.stringify(name)} resolves outside the semihosting root`);
  }
  return real;
}

/** An open host file: its descriptor and the position semihosting reads and writes at. */
export interface HostFile {
  readonly fd: number;
  pos: number;
  readonly append: boolean;
}

/** Open `name` (already confined) with a SYS_OPEN mode. */
export function openHostFile(real: string, mode: number): HostFile {
  const flags = openFlags(mode);
  if (flags === null) throw new SemihostError(ERRNO.EINVAL, `SYS_OPEN mode ${mode} is not 0..11`);
  const fd = hostCall(() => fs.openSync(real, flags));
  if (hostCall(() => fs.fstatSync(fd)).isDirectory()) {
    fs.closeSync(fd);
    throw new SemihostError(ERRNO.EISDIR, "is a directory");
  }
  return { fd, pos: 0, append: flags.startsWith("a") };
}

export function readHostFile(f: HostFile, n: number): Uint8Array {
  const buf = new Uint8Array(n);
  const got = hostCall(() => fs.readSync(f.fd, buf, 0, n, f.pos));
  f.pos += got;
  return buf.subarray(0, got);
}

export function writeHostFile(f: HostFile, bytes: Uint8Array): void {
  const put = hostCall(() => fs.writeSync(f.fd, bytes, 0, bytes.length, f.append ? null : f.pos));
  f.pos = f.append ? hostFileLength(f) : f.pos + put;
}

export function hostFileLength(f: HostFile): number {
  return hostCall(() => fs.fstatSync(f.fd)).size;
}

export function removeHostFile(real: string): void {
  hostCall(() => fs.unlinkSync(real));
}

export function renameHostFile(from: string, to: string): void {
  hostCall(() => fs.renameSync(from, to));
}

export function closeHostFile(f: HostFile): void {
  hostCall(() => fs.closeSync(f.fd));
}
