// Disassembly around the shown vCPU's PC: the current line and breakpoints marked, a click on a
// line sets or clears a breakpoint there, and addresses (the line's own, branch and ADR targets)
// link to their translations.

import type { BreakpointView, DisasmLine, LabRequestBody, LabState } from "../protocol.ts";
import { addressLink, hex, type AddressClick, type AddressLevel } from "./address.ts";
import { breakpointAddress } from "./controls.ts";
import { el } from "./dom.ts";

export interface DisasmHost {
  onAddress: AddressClick;
  act(body: LabRequestBody): Promise<boolean>;
}

/** Instructions whose immediate operand is a code or data address in the same regime. */
const TARGETS = /^(b|bl|b\.\w+|bc\.\w+|cbn?z|tbn?z|adrp?|ldr|ldrsw|prfm)$/i;

export class DisasmPanel {
  private breakpoints: BreakpointView[] = [];
  private shown = "";

  constructor(
    private readonly body: HTMLElement,
    private readonly host: DisasmHost,
  ) {}

  render(state: LabState): void {
    this.breakpoints = state.breakpoints;
    const vcpu = state.vcpus.find((v) => v.index === state.current) ?? state.vcpus[0];
    const lines = vcpu?.disasm ?? [];
    // The same lines at the same place need no new DOM (a state arrives many times a second).
    const key = `${vcpu?.index}:${vcpu?.level}:` + lines.map((l) => `${l.pc}${l.current ? "*" : ""}${l.breakpoint ? "b" : ""}${l.insn}`).join("|");
    if (key === this.shown) return;
    this.shown = key;
    if (vcpu === undefined) {
      this.body.replaceChildren(el("div", { className: "empty", text: "no VM" }));
      return;
    }
    this.body.replaceChildren(...lines.map((l) => this.row(l, vcpu.level)));
  }

  private row(line: DisasmLine, level: AddressLevel): HTMLElement {
    const marker = line.current ? "▶" : line.breakpoint ? "●" : "";
    const row = el(
      "div",
      { className: "dis-line", title: line.breakpoint ? "click: clear the breakpoint" : "click: break here" },
      el("span", { className: "dis-mark", text: marker }),
      addressLink("va", line.pc, this.host.onAddress, level),
      el("span", { className: "dis-sym", text: line.symbol ?? "" }),
      this.insn(line.insn, level),
    );
    row.classList.toggle("current", line.current);
    row.classList.toggle("breakpoint", line.breakpoint);
    row.dataset.pc = hex(line.pc);
    row.addEventListener("click", () => void this.toggle(line));
    return row;
  }

  /** The instruction text with its target address as a link (branches, ADR/ADRP, literal loads). */
  private insn(text: string, level: AddressLevel): HTMLElement {
    const span = el("span", { className: "dis-insn" });
    const mnemonic = /^\S+/.exec(text)?.[0] ?? "";
    const target = TARGETS.test(mnemonic) ? /(#?)(0x[0-9a-f]+)\s*$/i.exec(text) : null;
    if (target === null || text.includes("[")) {
      span.textContent = text;
      return span;
    }
    span.append(text.slice(0, target.index) + target[1], addressLink("va", BigInt(target[2]!), this.host.onAddress, level));
    return span;
  }

  private async toggle(line: DisasmLine): Promise<void> {
    if (!line.breakpoint) {
      await this.host.act({ op: "break", spec: hex(line.pc) });
      return;
    }
    // Every breakpoint at this address goes (an any-level one and a symbol's may coincide).
    for (const b of this.breakpoints.filter((b) => breakpointAddress(b) === line.pc)) await this.host.act({ op: "delete", breakpoint: b.id });
  }
}
