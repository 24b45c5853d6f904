// Errors the CLI reports without a stack trace: anything that carries what the user needs to act.

/** A command-line usage problem (bad option value, missing file). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
