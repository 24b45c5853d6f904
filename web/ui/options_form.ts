// The VM options of `nvlab run` as a form (web/protocol.ts LabOptions): the same names and
// defaults as the command line, so what boots here boots there with the same flags.

import type { LabOptions } from "../protocol.ts";
import { UNMAP_NAMES } from "./catalog.ts";
import { el } from "./dom.ts";

/** The command line's defaults (cli/main.ts, debug/timetravel.ts DEFAULT_SNAPSHOT_EVERY). */
export const DEFAULT_OPTIONS: LabOptions = {
  unmap: "full",
  directMap: false,
  vcpus: 1,
  nestedMmus: null,
  seed: null,
  chaos: null,
  check: false,
  engine: "jit",
  snapshotEvery: 500_000,
};

/** hypervisor/vm.ts KVM_MAX_VCPUS. */
const MAX_VCPUS = 512;

interface Fields {
  unmap: HTMLSelectElement;
  directMap: HTMLInputElement;
  vcpus: HTMLInputElement;
  nestedMmus: HTMLInputElement;
  seed: HTMLInputElement;
  chaos: HTMLInputElement;
  chaosSeed: HTMLInputElement;
  chaosRate: HTMLInputElement;
  check: HTMLInputElement;
  engine: HTMLSelectElement;
  snapshotEvery: HTMLInputElement;
}

export class OptionsForm {
  private readonly f: Fields;
  /** The scenario's own options while one is chosen. */
  private scenario: Partial<LabOptions> | null = null;

  constructor(container: HTMLElement) {
    this.f = {
      unmap: select("opt-unmap", UNMAP_NAMES),
      directMap: input("opt-direct-map", "checkbox"),
      vcpus: number("opt-vcpus", "1"),
      nestedMmus: number("opt-nested-mmus", "2 × vCPUs"),
      seed: number("opt-seed", "0"),
      chaos: input("opt-chaos", "checkbox"),
      chaosSeed: number("opt-chaos-seed", "seed"),
      chaosRate: number("opt-chaos-rate", "50"),
      check: input("opt-check", "checkbox"),
      engine: select("opt-engine", ["jit", "interp"]),
      snapshotEvery: number("opt-snapshot-every", String(DEFAULT_OPTIONS.snapshotEvery)),
    };
    const f = this.f;
    container.replaceChildren(
      row("--unmap", "canonical-unmap strategy", f.unmap),
      row("--direct-map", "nested IPA → canonical IPA map beside each revmap", f.directMap),
      row("--vcpus", "vCPUs of the machine", f.vcpus),
      row("--nested-mmus", "shadow stage-2 MMUs (blank: 2 per vCPU)", f.nestedMmus),
      row("--seed", "the scheduler's seed (blank: the default, or the scenario's)", f.seed),
      row("--chaos", "random canonical unmaps, revmap failures and MMU recycles: seed, mean exits between two", f.chaos, f.chaosSeed, f.chaosRate),
      row("--check", "run the invariant checker after every L0 action", f.check),
      row("--engine", "what runs the guests' code", f.engine),
      row("--snapshot-every", "automatic snapshot interval (instructions) for reverse steps and the timeline", f.snapshotEvery),
    );
    f.chaos.addEventListener("change", () => this.sync());
    f.unmap.addEventListener("change", () => this.sync());
    this.write(DEFAULT_OPTIONS);
  }

  /** The options the form holds; an Error naming the field when one is not valid. */
  read(): LabOptions {
    const f = this.f;
    return {
      unmap: f.unmap.value,
      directMap: f.directMap.checked,
      vcpus: whole(f.vcpus, "--vcpus", 1, MAX_VCPUS),
      nestedMmus: f.nestedMmus.value.trim() === "" ? null : whole(f.nestedMmus, "--nested-mmus", 1, 4096),
      seed: f.seed.value.trim() === "" ? null : whole(f.seed, "--seed", 0),
      chaos: f.chaos.checked ? chaosOf(f) : null,
      check: f.check.checked,
      engine: f.engine.value === "interp" ? "interp" : "jit",
      snapshotEvery: whole(f.snapshotEvery, "--snapshot-every", 1),
    };
  }

  write(o: LabOptions): void {
    const f = this.f;
    f.unmap.value = o.unmap;
    // A value the select does not offer (a link from a page with other strategies) shows as itself.
    if (f.unmap.value !== o.unmap) {
      f.unmap.append(el("option", { text: o.unmap }));
      f.unmap.value = o.unmap;
    }
    f.directMap.checked = o.directMap;
    f.vcpus.value = String(o.vcpus);
    f.nestedMmus.value = o.nestedMmus === null ? "" : String(o.nestedMmus);
    f.seed.value = o.seed === null ? "" : String(o.seed);
    f.chaos.checked = o.chaos !== null;
    f.chaosSeed.value = o.chaos === null ? "" : String(o.chaos.seed);
    f.chaosRate.value = o.chaos?.rate === undefined ? "" : String(o.chaos.rate);
    f.check.checked = o.check;
    f.engine.value = o.engine;
    f.snapshotEvery.value = String(o.snapshotEvery);
    this.sync();
  }

  /**
   * Switches the form to a scenario whose file sets `own` (null: back to a pair). A scenario sets
   * its vCPUs in its file (the CLI refuses --vcpus with one) and always runs the checker; its
   * strategy is offered as "scenario's", which keeps the file's direct map and MMU count too (the
   * worker overrides those only with a named strategy).
   */
  setScenario(own: Partial<LabOptions> | null): void {
    const f = this.f;
    this.scenario = own;
    f.unmap.querySelector('option[value=""]')?.remove();
    if (own !== null) {
      const label = `scenario's: ${own.unmap ?? "full"}${own.directMap === true ? " + direct map" : ""}`;
      const o = el("option", { text: label });
      o.value = "";
      f.unmap.prepend(o);
      f.vcpus.value = String(own.vcpus ?? 1);
      f.check.checked = true;
    }
    f.vcpus.disabled = own !== null;
    f.check.disabled = own !== null;
    this.sync();
  }

  /** Controls that mean nothing in the current choices are disabled, showing what applies instead. */
  private sync(): void {
    const f = this.f;
    f.chaosSeed.disabled = !f.chaos.checked;
    f.chaosRate.disabled = !f.chaos.checked;
    const keepsScenarios = this.scenario !== null && f.unmap.value === "";
    f.directMap.disabled = keepsScenarios;
    f.nestedMmus.disabled = keepsScenarios;
    if (keepsScenarios) {
      f.directMap.checked = this.scenario?.directMap ?? false;
      f.nestedMmus.value = this.scenario?.nestedMmus === undefined ? "" : String(this.scenario.nestedMmus);
    }
    f.seed.placeholder = this.scenario?.seed === undefined ? "0" : `${this.scenario.seed} (scenario's)`;
  }
}

function chaosOf(f: Fields): { seed: number; rate?: number } {
  const seed = whole(f.chaosSeed, "--chaos (seed)", 0);
  return f.chaosRate.value.trim() === "" ? { seed } : { seed, rate: whole(f.chaosRate, "--chaos-rate", 1) };
}

function whole(e: HTMLInputElement, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const text = e.value.trim();
  const n = Number(text);
  if (text === "" || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new Error(`${name}: give a whole number${max === Number.MAX_SAFE_INTEGER ? ` ≥ ${min}` : ` from ${min} to ${max}`} (got "${text}")`);
  }
  return n;
}

function row(flag: string, help: string, ...controls: HTMLElement[]): HTMLElement {
  const label = el("label", { className: "opt-flag", title: help, text: flag });
  const first = controls[0];
  if (first !== undefined) label.htmlFor = first.id;
  return el("div", { className: "opt-row", title: help }, label, el("span", { className: "opt-controls" }, ...controls));
}

function input(id: string, type: string): HTMLInputElement {
  const e = el("input", { id });
  e.type = type;
  return e;
}

function number(id: string, placeholder: string): HTMLInputElement {
  const e = input(id, "text");
  // Text, not type=number: browsers silently drop what a number input cannot parse.
  e.inputMode = "numeric";
  e.placeholder = placeholder;
  e.className = "num";
  return e;
}

function select(id: string, values: readonly string[]): HTMLSelectElement {
  const e = el("select", { id });
  for (const v of values) e.append(el("option", { text: v }));
  return e;
}
