// The debugger's command line in the page: each line goes to the worker as a `command` and what the
// debugger prints comes back as text, so every command of `nvlab debug` works here as typed there.

import type { LabClient } from "./client.ts";
import { el } from "./dom.ts";

/** Commands kept in the output, oldest dropped first. */
const KEEP = 200;

export class ReplPanel {
  private readonly history: string[] = [];
  private back = 0;

  constructor(
    private readonly input: HTMLInputElement,
    private readonly output: HTMLElement,
    private readonly client: LabClient,
  ) {
    input.addEventListener("keydown", (e) => this.key(e));
  }

  private key(e: KeyboardEvent): void {
    if (e.key === "Enter") {
      e.preventDefault();
      const line = this.input.value.trim();
      if (line === "") return;
      this.input.value = "";
      if (this.history[this.history.length - 1] !== line) this.history.push(line);
      this.back = 0;
      void this.execute(line);
    } else if (e.key === "ArrowUp" || e.key === "ArrowDown") {
      e.preventDefault();
      this.back = Math.max(0, Math.min(this.history.length, this.back + (e.key === "ArrowUp" ? 1 : -1)));
      this.input.value = this.back === 0 ? "" : (this.history[this.history.length - this.back] ?? "");
    }
  }

  async execute(line: string): Promise<void> {
    const entry = el("div", { className: "repl-entry" }, el("div", { className: "repl-cmd", text: `(nvlab) ${line}` }));
    const out = el("pre", { className: "repl-out pending", text: "…" });
    entry.append(out);
    this.output.append(entry);
    while (this.output.childElementCount > KEEP) this.output.firstElementChild?.remove();
    this.output.scrollTop = this.output.scrollHeight;
    try {
      const result = await this.client.request({ op: "command", line });
      out.textContent = typeof result === "string" ? result.replace(/\n$/, "") : JSON.stringify(result);
    } catch (e) {
      out.textContent = e instanceof Error ? e.message : String(e);
      out.classList.add("error");
    }
    out.classList.remove("pending");
    this.output.scrollTop = this.output.scrollHeight;
  }
}
