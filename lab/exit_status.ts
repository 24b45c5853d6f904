// Exit statuses of a run (`nvlab run`, and the GDB stub's W packet): a guest's PSCI SYSTEM_OFF code
// passes through only when a shell can read it unambiguously; every other end has a fixed status.

/**
 * nvlab's own exit statuses for `nvlab run`. A guest exit code equal to one of them cannot be passed
 * through unchanged, or a script could not tell the guest's code from nvlab's verdict.
 */
export const RUN_STATUS = {
  usage: 1,
  host: 70,
  /** `--qemu`: the guest printed something else on QEMU. */
  consoleDiffers: 122,
  guestCodeNotRepresentable: 123,
  budget: 124,
  guestError: 125,
  monitorStop: 126,
} as const;

const OWN_STATUSES: ReadonlySet<number> = new Set(Object.values(RUN_STATUS));

/**
 * The largest guest code passed through as it is: a shell reads 128+N as "killed by signal N", and the
 * process status only holds 8 bits, so larger codes would be misread or silently reduced modulo 256.
 */
export const GUEST_STATUS_MAX = 127;

/** Whether a guest's SYSTEM_OFF code is its own exit status (otherwise it becomes RUN_STATUS.guestCodeNotRepresentable). */
export function guestCodeIsStatus(code: number): boolean {
  return Number.isInteger(code) && code >= 0 && code <= GUEST_STATUS_MAX && !OWN_STATUSES.has(code);
}

/** The exit status standing for a guest's SYSTEM_OFF code. */
export function guestExitStatus(code: number): number {
  return guestCodeIsStatus(code) ? code : RUN_STATUS.guestCodeNotRepresentable;
}

/** Why a guest code was not passed through as the exit status, for the summary; null when it was. */
export function guestStatusNote(code: number): string | null {
  if (guestCodeIsStatus(code)) return null;
  const why = OWN_STATUSES.has(code) ? "is one of nvlab's own exit statuses" : `is above ${GUEST_STATUS_MAX}`;
  return `exit status ${RUN_STATUS.guestCodeNotRepresentable}: the guest's code ${code} ${why}, so it cannot be the status itself`;
}

/**
 * Process exit status for a run outcome: the guest's own code when it can stand for itself, or a fixed
 * status for other ends (an image that does not fit in RAM is a usage error: nothing ran).
 */
export function runExitCode(outcome: { kind: string; code?: number; stage?: string }): number {
  if (outcome.kind === "system-off") return guestExitStatus(outcome.code ?? 0);
  if (outcome.kind === "budget") return RUN_STATUS.budget;
  if (outcome.kind === "monitor-stop") return RUN_STATUS.monitorStop;
  if (outcome.stage === "load") return RUN_STATUS.usage;
  return RUN_STATUS.guestError;
}
