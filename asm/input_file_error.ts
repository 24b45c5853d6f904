// An input file (a source, a scenario, an image) that cannot be read, named with the reason a user
// can act on. Its own module so that both hosts' file readers (asm/host_files.ts and the browser's)
// throw the same class without importing the rest of the assembler's errors.

/** What a failed read of an input file means to its user, from the system's error code. */
const READ_FAILURES: Record<string, string> = {
  ENOENT: "no such file",
  EISDIR: "is a directory",
  ENOTDIR: "a component of the path is not a directory",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "the name is too long",
};

/** An input file (a source, a scenario) that cannot be read; the message names it and says why. */
export class InputFileError extends Error {
  constructor(
    readonly file: string,
    readonly code: string,
  ) {
    // An empty name (`nvlab exec ""`) would print as "cannot open : no such file".
    super(file === "" ? 'cannot open "": the file name is empty' : `cannot ${code === "ENOENT" ? "open" : "read"} ${file}: ${READ_FAILURES[code] ?? code}`);
    this.name = "InputFileError";
  }
}
