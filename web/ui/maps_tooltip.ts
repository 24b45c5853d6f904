// The maps' single tooltip: one floating box for every band, placed by the pointer and kept
// inside the window, so hovering a one-pixel leaf still tells what it is.

import { el } from "./dom.ts";

const OFFSET = 14;

export class MapsTooltip {
  readonly root: HTMLElement = el("div", { className: "maps-tooltip" });

  constructor() {
    this.root.setAttribute("role", "tooltip");
    this.hide();
  }

  show(lines: readonly string[], clientX: number, clientY: number): void {
    this.root.replaceChildren(...lines.map((text, i) => el("div", { className: i === 0 ? "maps-tooltip-head" : "", text })));
    this.root.hidden = false;
    const { innerWidth, innerHeight } = window;
    const box = this.root.getBoundingClientRect();
    const x = clientX + OFFSET + box.width > innerWidth ? clientX - OFFSET - box.width : clientX + OFFSET;
    const y = clientY + OFFSET + box.height > innerHeight ? clientY - OFFSET - box.height : clientY + OFFSET;
    this.root.style.left = `${Math.max(0, x)}px`;
    this.root.style.top = `${Math.max(0, y)}px`;
  }

  hide(): void {
    this.root.hidden = true;
  }
}
