// What both hosts of semihosting's file calls share (emulator/semihosting_files.ts for Node, and the
// browser build's stand-in): the errno a guest reads back, SYS_OPEN's modes, and the error carrying them.

/** Host errno values a guest reads back with SYS_ERRNO (Linux numbering, as QEMU on Linux passes). */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  E2BIG: 7,
  EBADF: 9,
  EACCES: 13,
  EFAULT: 14,
  EEXIST: 17,
  EISDIR: 21,
  EINVAL: 22,
  EMFILE: 24,
  ENOSPC: 28,
  ENOSYS: 38,
} as const;

/**
 * fopen() modes by SYS_OPEN mode number (0..11): the Arm semihosting specification's table. The
 * binary variants ("b") open the same way on a POSIX host.
 */
const OPEN_FLAGS: readonly string[] = ["r", "r", "r+", "r+", "w", "w", "w+", "w+", "a", "a", "a+", "a+"];

/** The open() flags of a SYS_OPEN mode, or null for a mode outside 0..11. */
export function openFlags(mode: number): string | null {
  return OPEN_FLAGS[mode] ?? null;
}

/** An error with the errno a guest should see. */
export class SemihostError extends Error {
  constructor(readonly errno: number, message: string) {
    super(message);
  }
}
