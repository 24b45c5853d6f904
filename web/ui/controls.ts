// The run controls: run, pause, the steps forward and back, the timeline slider and the
// breakpoints. Each control is one request to the worker; what they show comes only from the
// states the worker posts, so the bar never guesses what the VM is doing.

import type { BreakpointView, LabRequestBody, LabState } from "../protocol.ts";
import { byId, el } from "./dom.ts";

export interface RunControlsHost {
  /** Sends a request: whether the worker did it (a refusal goes to the message bar; never rejects). */
  act(body: LabRequestBody): Promise<boolean>;
}

const BUTTONS = ["run", "pause", "step-insn", "step-exit", "step-event", "reverse-step", "reverse-continue"] as const;
type ButtonId = (typeof BUTTONS)[number];

export class RunControls {
  private readonly buttons: Record<ButtonId, HTMLButtonElement>;
  private readonly timeline = byId<HTMLInputElement>("timeline");
  private readonly stepNow = byId("step-now");
  private readonly status = byId("status");
  private readonly stepCount = byId<HTMLInputElement>("step-count");
  private readonly breakList = byId("breakpoints");
  /** While the slider is held, states must not move it under the user's finger. */
  private dragging = false;
  private shownBreakpoints = "";

  constructor(private readonly host: RunControlsHost) {
    this.buttons = Object.fromEntries(BUTTONS.map((id) => [id, byId<HTMLButtonElement>(id)])) as Record<ButtonId, HTMLButtonElement>;
    const b = this.buttons;
    b.run.addEventListener("click", () => void host.act({ op: "run" }));
    b.pause.addEventListener("click", () => void host.act({ op: "pause" }));
    b["step-insn"].addEventListener("click", () => void host.act({ op: "step", unit: "instruction", count: this.count() }));
    b["step-exit"].addEventListener("click", () => void host.act({ op: "step", unit: "exit", count: this.count() }));
    b["step-event"].addEventListener("click", () => void host.act({ op: "step", unit: "event", count: this.count() }));
    b["reverse-step"].addEventListener("click", () => void host.act({ op: "reverse-step" }));
    b["reverse-continue"].addEventListener("click", () => void host.act({ op: "reverse-continue" }));
    this.bindTimeline();
    this.bindBreakForm();
  }

  render(state: LabState | null): void {
    const status = state?.status ?? "empty";
    const loaded = status !== "empty";
    const running = status === "running";
    const b = this.buttons;
    b.run.disabled = !loaded || running || status === "finished";
    b.pause.disabled = !running;
    for (const id of ["step-insn", "step-exit", "step-event"] as const) b[id].disabled = !loaded || running || status === "finished";
    for (const id of ["reverse-step", "reverse-continue"] as const) b[id].disabled = !loaded || running || (state?.step ?? 0) === 0;
    this.timeline.disabled = !loaded || running;
    this.renderTimeline(state);
    this.status.textContent = statusLine(state);
    this.status.dataset.status = status;
    this.renderBreakpoints(state?.breakpoints ?? []);
  }

  private count(): number {
    const n = Number(this.stepCount.value);
    return Number.isSafeInteger(n) && n >= 1 ? n : 1;
  }

  private bindTimeline(): void {
    const t = this.timeline;
    t.addEventListener("pointerdown", () => (this.dragging = true));
    // A press without a move fires no "change": let go of the slider anyway.
    for (const type of ["pointerup", "pointercancel", "blur"]) t.addEventListener(type, () => (this.dragging = false));
    t.addEventListener("input", () => {
      this.dragging = true;
      this.stepNow.textContent = `go to ${t.value} / ${t.max}`;
    });
    // "change" comes on release (and on a keyboard move): one goto per gesture, not per pixel.
    t.addEventListener("change", () => {
      this.dragging = false;
      void this.host.act({ op: "goto", step: Number(t.value) });
    });
  }

  private renderTimeline(state: LabState | null): void {
    const step = state?.step ?? 0;
    const reached = state?.reached ?? 0;
    if (!this.dragging) {
      this.timeline.max = String(reached);
      this.timeline.value = String(step);
      this.stepNow.textContent = `step ${step} / ${reached}`;
      this.stepNow.dataset.step = String(step);
    }
  }

  private bindBreakForm(): void {
    const form = byId<HTMLFormElement>("break-form");
    const input = byId<HTMLInputElement>("break-input");
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const spec = input.value.trim();
      if (spec === "") return;
      void this.host.act({ op: "break", spec }).then((ok) => {
        if (ok) input.value = "";
      });
    });
  }

  private renderBreakpoints(list: BreakpointView[]): void {
    const key = list.map((b) => `${b.id}:${b.hits}:${b.text}`).join("|");
    if (key === this.shownBreakpoints) return;
    this.shownBreakpoints = key;
    if (list.length === 0) {
      this.breakList.replaceChildren(el("li", { className: "empty", text: "no breakpoints" }));
      return;
    }
    this.breakList.replaceChildren(
      ...list.map((b) => {
        const del = el("button", { className: "del", title: `delete breakpoint ${b.id}`, text: "×" });
        del.type = "button";
        del.addEventListener("click", () => void this.host.act({ op: "delete", breakpoint: b.id }));
        const li = el("li", {}, el("span", { className: "bp-id", text: `${b.id}` }), el("span", { className: "bp-text", text: b.text }), el("span", { className: "bp-hits", text: `${b.hits} hit${b.hits === 1 ? "" : "s"}` }), del);
        li.dataset.id = String(b.id);
        return li;
      }),
    );
  }
}

/** The address an address breakpoint stops at, read from its label (`L2 0x…`, `0x… (any level)`, `sym (L2 0x…)`). */
export function breakpointAddress(b: BreakpointView): bigint | null {
  if (/^(exit|event)\b/.test(b.text)) return null;
  const all = b.text.match(/0x[0-9a-f]+/gi);
  const last = all?.[all.length - 1];
  return last === undefined ? null : BigInt(last);
}

function statusLine(state: LabState | null): string {
  if (state === null || state.status === "empty") return "no VM: choose guests and Boot";
  const parts: string[] = [state.status];
  if (state.stop !== "") parts.push(state.stop);
  // The stop of a finished run usually words the outcome already.
  if (state.outcome !== null && !state.stop.includes(state.outcome)) parts.push(state.outcome);
  if (state.speed > 0) parts.push(`${formatSpeed(state.speed)} insn/s`);
  return parts.join(" · ");
}

function formatSpeed(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}
