// The source editor: one CodeMirror view, a tab per file of the current setup (L1, each L2, what
// they include, a scenario's YAML). Every file ever opened keeps its editor state, so an edit
// survives switching guests and comes back when a setup uses that file again. Assembler and
// scenario errors from a load are placed at their line and column in the file they name. An
// uploaded binary image is a file too: its bytes go to the worker, its tab shows a read-only summary.

import { basicSetup } from "codemirror";
import { StreamLanguage } from "@codemirror/language";
import { gasArm } from "@codemirror/legacy-modes/mode/gas";
import { yaml } from "@codemirror/legacy-modes/mode/yaml";
import { lintGutter, setDiagnostics as lintDiagnostics, type Diagnostic } from "@codemirror/lint";
import { EditorState, type Extension } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import type { SourceError, SourceFile } from "../protocol.ts";
import type { FileRole, SetupFile } from "./catalog.ts";
import { el } from "./dom.ts";

interface Doc {
  path: string;
  role: FileRole;
  shipped: string | undefined;
  state: EditorState;
  errors: number;
  /** An uploaded binary's contents (its state then holds the summary shown, not the file). */
  bytes?: Uint8Array;
}

const ROLE_TAG: Record<FileRole, string> = { L1: "L1", L2: "L2", scenario: "yaml", include: "inc" };

const ASM = StreamLanguage.define(gasArm);
const YAML = StreamLanguage.define(yaml);

export class SourceEditor {
  private readonly docs = new Map<string, Doc>();
  private tabs: string[] = [];
  private current: string | null = null;
  private readonly view: EditorView;

  constructor(
    private readonly tabBar: HTMLElement,
    host: HTMLElement,
    private readonly shipped: ReadonlyMap<string, string>,
  ) {
    this.view = new EditorView({ parent: host, state: EditorState.create({ doc: "" }) });
  }

  /** Shows the tabs of `files`, the first one open; a file not yet opened starts as shipped (or empty). */
  open(files: SetupFile[]): void {
    this.saveCurrent();
    for (const f of files) {
      const doc = this.docs.get(f.path);
      if (doc === undefined) this.docs.set(f.path, this.newDoc(f.path, f.role, this.shipped.get(f.path) ?? ""));
      else doc.role = f.role;
    }
    this.tabs = files.map((f) => f.path);
    const keep = this.current !== null && this.tabs.includes(this.current) ? this.current : (this.tabs[0] ?? null);
    this.current = null;
    if (keep !== null) this.show(keep);
    this.drawTabs();
  }

  /** Replaces a file's text (a permalink's edited file), keeping its tab if shown. */
  setText(path: string, text: string): void {
    this.saveCurrent();
    const doc = this.docs.get(path);
    this.docs.set(path, this.newDoc(path, doc?.role ?? "include", text));
    if (this.current === path) this.view.setState(this.docs.get(path)!.state);
    this.drawTabs();
  }

  /** Makes `path` an uploaded binary image: `bytes` for the worker, a read-only tab showing `summary`. */
  setBinary(path: string, bytes: Uint8Array, summary: string): void {
    this.saveCurrent();
    const state = EditorState.create({ doc: summary, extensions: [basicSetup, EditorState.readOnly.of(true), EditorView.editable.of(false)] });
    this.docs.set(path, { path, role: this.docs.get(path)?.role ?? "include", shipped: undefined, state, errors: 0, bytes });
    if (this.current === path) this.view.setState(state);
    this.drawTabs();
  }

  /**
   * A file's text as edited, or as shipped when never opened; undefined when neither, and for a
   * binary image (it has no text to search for `.include`s).
   */
  text(path: string): string | undefined {
    if (this.docs.get(path)?.bytes !== undefined) return undefined;
    if (path === this.current) return this.view.state.doc.toString();
    return this.docs.get(path)?.state.doc.toString() ?? this.shipped.get(path);
  }

  /** The current texts (or bytes) of `paths` (files the page knows nothing of are left for the worker to name). */
  sources(paths: string[]): SourceFile[] {
    return paths.flatMap((path): SourceFile[] => {
      const bytes = this.docs.get(path)?.bytes;
      if (bytes !== undefined) return [{ path, text: "", bytes }];
      const text = this.text(path);
      return text === undefined ? [] : [{ path, text }];
    });
  }

  /** Shows `path`'s tab (it must be one of the open tabs). */
  show(path: string): void {
    const doc = this.docs.get(path);
    if (doc === undefined || path === this.current) return;
    this.saveCurrent();
    this.current = path;
    this.view.setState(doc.state);
    this.drawTabs();
  }

  /**
   * Places `errors` in their files (all earlier ones are cleared) and shows the first placed one;
   * returns those naming no open file, for the page's message bar.
   */
  setDiagnostics(errors: SourceError[]): SourceError[] {
    this.saveCurrent();
    const byPath = new Map<string, Diagnostic[]>();
    const unplaced: SourceError[] = [];
    for (const e of errors) {
      const path = this.pathOf(e.file);
      const doc = path === undefined ? undefined : this.docs.get(path);
      if (path === undefined || doc === undefined) {
        unplaced.push(e);
        continue;
      }
      byPath.set(path, [...(byPath.get(path) ?? []), diagnostic(doc.state, e)]);
    }
    for (const doc of this.docs.values()) {
      const diags = byPath.get(doc.path) ?? [];
      doc.errors = diags.length;
      doc.state = doc.state.update(lintDiagnostics(doc.state, diags)).state;
    }
    const first = errors.map((e) => this.pathOf(e.file)).find((p) => p !== undefined && byPath.has(p));
    if (this.current !== null) this.view.setState(this.docs.get(this.current)!.state);
    if (first !== undefined) {
      this.show(first);
      const d = byPath.get(first)?.[0];
      if (d !== undefined) this.view.dispatch({ selection: { anchor: d.from }, scrollIntoView: true });
    }
    this.drawTabs();
    return unplaced;
  }

  /** Back to the shipped text of the shown file. */
  revertCurrent(): void {
    if (this.current === null) return;
    const doc = this.docs.get(this.current)!;
    if (doc.shipped === undefined) return;
    this.docs.set(doc.path, this.newDoc(doc.path, doc.role, doc.shipped));
    this.view.setState(this.docs.get(doc.path)!.state);
    this.drawTabs();
  }

  private newDoc(path: string, role: FileRole, text: string): Doc {
    const state = EditorState.create({ doc: text, extensions: this.extensions(path) });
    return { path, role, shipped: this.shipped.get(path), state, errors: 0 };
  }

  private extensions(path: string): Extension[] {
    const language = /\.(s|asm)$/i.test(path) ? [ASM] : /\.ya?ml$/i.test(path) ? [YAML] : [];
    return [
      basicSetup,
      ...language,
      lintGutter(),
      EditorView.updateListener.of((u) => {
        // The edited mark changes only when the text crosses "as shipped": redraw tabs then.
        if (u.docChanged && this.current === path) this.markEdited(path, u.state.doc.toString());
      }),
    ];
  }

  private markEdited(path: string, text: string): void {
    const tab = this.tabBar.querySelector<HTMLElement>(`[data-path="${CSS.escape(path)}"]`);
    tab?.classList.toggle("edited", text !== this.shipped.get(path));
  }

  private saveCurrent(): void {
    if (this.current === null) return;
    const doc = this.docs.get(this.current);
    if (doc !== undefined) doc.state = this.view.state;
  }

  /** The open file an error's name means: exact, or the same file named from another folder. */
  private pathOf(file: string): string | undefined {
    const name = file.replace(/^(\.\/|\/)+/, "");
    return this.tabs.find((p) => p === name) ?? this.tabs.find((p) => p.endsWith(`/${name}`) || name.endsWith(`/${p}`));
  }

  private drawTabs(): void {
    const tabs = this.tabs.map((path) => {
      const doc = this.docs.get(path)!;
      const name = path.slice(path.lastIndexOf("/") + 1);
      const b = el("button", { className: "tab file-tab", title: path }, el("span", { className: "role", text: ROLE_TAG[doc.role] }), ` ${name}`);
      b.type = "button";
      b.dataset.path = path;
      b.classList.toggle("active", path === this.current);
      b.classList.toggle("edited", this.text(path) !== doc.shipped);
      b.classList.toggle("has-errors", doc.errors > 0);
      if (doc.bytes !== undefined) {
        b.classList.add("binary");
        b.title = `${path}: uploaded image (read-only)`;
      }
      b.addEventListener("click", () => this.show(path));
      return b;
    });
    this.tabBar.replaceChildren(...tabs);
  }
}

/** A SourceError (1-based line and column) as a CodeMirror diagnostic over the word it points at. */
function diagnostic(state: EditorState, e: SourceError): Diagnostic {
  const line = state.doc.line(Math.min(Math.max(e.line, 1), state.doc.lines));
  const from = line.from + Math.min(Math.max(e.col - 1, 0), line.length);
  const word = /^\S+/.exec(line.text.slice(from - line.from))?.[0].length ?? 0;
  return { from, to: from + word, severity: "error", message: e.message, source: e.file };
}
