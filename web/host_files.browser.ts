// asm/host_files.ts for the browser build (web/build.ts swaps it in): the files the assembler, the
// image loader and the scenario loader read come from an in-memory set the worker fills from the
// page's editor and the shipped files. A missing file fails as the CLI's does (InputFileError
// ENOENT), so a page shows the same messages as a terminal.

import { InputFileError } from "../asm/input_file_error.ts";
import { normalize } from "../asm/source_path.ts";

/** One host file: its path as sources and scenarios name it (relative to the set's root), and its contents. */
export interface HostFile {
  path: string;
  text?: string;
  bytes?: Uint8Array;
}

// As node:fs reads "utf8": a leading byte-order mark is part of the text.
const UTF8 = new TextDecoder("utf-8", { ignoreBOM: true });

let files = new Map<string, HostFile>();

/** `./guests/l1/../l1/hyp.S` and `guests/l1/hyp.S` name the same file, as on a disk. */
function key(path: string): string {
  return normalize(path);
}

/** Replace the whole file set. */
export function setHostFiles(list: readonly HostFile[]): void {
  files = new Map(list.map((f) => [key(f.path), f]));
}

function lookup(path: string): HostFile {
  // The CLI's message for an empty name is InputFileError's own; keep the same path to it.
  const f = path === "" ? undefined : files.get(key(path));
  if (f === undefined) throw new InputFileError(path, "ENOENT");
  return f;
}

/** The text of the file at `path` (bytes given as UTF-8); missing: InputFileError ENOENT naming `path`. */
export async function readInputText(path: string): Promise<string> {
  const f = lookup(path);
  return f.text ?? UTF8.decode(f.bytes ?? new Uint8Array());
}

/** The bytes of the file at `path` (text given as UTF-8), failing as readInputText does. */
export async function readInputBytes(path: string): Promise<Uint8Array> {
  const f = lookup(path);
  return f.bytes !== undefined ? f.bytes.slice() : new TextEncoder().encode(f.text ?? "");
}

/** Paths in the set are relative to its root, so relative paths stay relative. */
export function workingDirectory(): string {
  return "";
}
