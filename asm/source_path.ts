// POSIX path arithmetic for source and image names (`.include`, a scenario's image paths), with the
// results of node:path's posix functions but no Node import: the assembler and the scenario loader
// also run in a browser, where paths name entries of an in-memory file set (asm/host_files.ts).

/** Whether `path` starts at the root. */
export function isAbsolute(path: string): boolean {
  return path.startsWith("/");
}

/**
 * `.` and `..` components folded and repeated slashes collapsed. A `..` that would climb above the
 * start of a relative path is kept (`../x`); above the root it is dropped (`/../x` is `/x`).
 */
function foldSegments(path: string, absolute: boolean): string[] {
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg !== "..") out.push(seg);
    else if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
    else if (!absolute) out.push("..");
  }
  return out;
}

/** `path` with `.`, `..` and repeated slashes folded; a trailing slash is kept; `""` is `"."`. */
export function normalize(path: string): string {
  if (path === "") return ".";
  const absolute = isAbsolute(path);
  let body = foldSegments(path, absolute).join("/");
  if (body === "" && !absolute) body = ".";
  if (body !== "" && path.endsWith("/")) body += "/";
  return absolute ? `/${body}` : body;
}

/** The non-empty parts joined with `/` and normalized; no parts (or only empty ones) is `"."`. */
export function join(...parts: string[]): string {
  const joined = parts.filter((p) => p !== "").join("/");
  return joined === "" ? "." : normalize(joined);
}

/**
 * `paths` resolved right to left until one is absolute, normalized, without a trailing slash. Unlike
 * node:path there is no implicit working directory: pass it first to get an absolute result (a
 * relative result stays relative, `"."` if empty).
 */
export function resolve(...paths: string[]): string {
  let acc = "";
  for (let i = paths.length - 1; i >= 0 && !isAbsolute(acc); i--) {
    const p = paths[i];
    if (p === undefined || p === "") continue;
    acc = acc === "" ? p : `${p}/${acc}`;
  }
  const absolute = isAbsolute(acc);
  const body = foldSegments(acc, absolute).join("/");
  if (absolute) return `/${body}`;
  return body === "" ? "." : body;
}

/** Everything before the last component (trailing slashes ignored): `"."` without one, `"/"` at the root. */
export function dirname(path: string): string {
  if (path === "") return ".";
  const absolute = isAbsolute(path);
  let end = -1;
  let matchedSlash = true;
  for (let i = path.length - 1; i >= 1; i--) {
    if (path[i] === "/") {
      if (!matchedSlash) {
        end = i;
        break;
      }
    } else matchedSlash = false;
  }
  if (end === -1) return absolute ? "/" : ".";
  // node:path keeps a leading `//` (POSIX leaves its meaning to the implementation).
  if (absolute && end === 1) return "//";
  return path.slice(0, end);
}

/** The last component, trailing slashes ignored. */
export function basename(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/** The last component's extension from its last `.`: `""` for none, for `..`, and for a dot file (`.bin`). */
export function extname(path: string): string {
  const base = basename(path);
  const dot = base.lastIndexOf(".");
  if (dot <= 0 || base === "..") return "";
  return base.slice(dot);
}
