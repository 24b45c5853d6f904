// The host's files, as the assembler, the image loader and the scenario loader read them: the one
// module of the core that touches node:fs. The browser build puts web/host_files.browser.ts (the
// same exports, over an in-memory file set) in its place, so the core itself stays free of Node.

import { readFile } from "node:fs/promises";
import { InputFileError } from "./input_file_error.ts";

/** A failure of the file system as an InputFileError naming `path`; anything else unchanged. */
function named(path: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === "string" && code.startsWith("E") ? new InputFileError(path, code) : e;
}

/** The text of the file at `path`; a failure of the file system is an InputFileError naming `path`. */
export async function readInputText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    throw named(path, e);
  }
}

/** The bytes of the file at `path`, failing as readInputText does. */
export async function readInputBytes(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw named(path, e);
  }
}

/** Where relative paths start: the process's working directory (an absolute path). */
export function workingDirectory(): string {
  return process.cwd();
}
