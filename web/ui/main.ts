// The lab page's entry: the shipped files, the worker, and the panels wired to them. The page keeps
// no VM state of its own: it draws the worker's latest state, at most once per animation frame and
// only for the view on screen, so a running guest never makes the tab sluggish.

import type { LabOptions, LabRequestBody, LabSetup, LabState, MapsData, TranslationReport } from "../protocol.ts";
import { hex, type AddressClick, type AddressLevel, type AddressSpace } from "./address.ts";
import { catalog, DEMO_PAIR, entryKey, entryLabel, GUEST_PAIRS, scenarioOptions, setupFiles, type CatalogEntry, type GuestPair } from "./catalog.ts";
import { LabClient, LabRequestError } from "./client.ts";
import { RunControls } from "./controls.ts";
import { DisasmPanel } from "./disasm.ts";
import { byId, el } from "./dom.ts";
import { SourceEditor } from "./editor.ts";
import { EventsPanel } from "./events_view.ts";
import { MapsView } from "./maps_view.ts";
import { MetricsView } from "./metrics_view.ts";
import { DEFAULT_OPTIONS, OptionsForm } from "./options_form.ts";
import { CheckerPanel, ConsolePanel, ExpectationsPanel, MetricsTable } from "./panels.ts";
import { permalinkHash, readPermalinkHash, type Permalink, type PermalinkAddress } from "./permalink.ts";
import { RegistersPanel } from "./registers.ts";
import { ReplPanel } from "./repl_view.ts";
import { renderTranslation } from "./translation_view.ts";
import { customLabel, placeUpload, slotLabel, uploadFormat, uploadPath, uploadSummary, UploadForm, type UploadChoice } from "./upload.ts";

const VIEWS = ["guests", "run", "translation", "maps", "events", "metrics"] as const;
type ViewName = (typeof VIEWS)[number];

/** What tests (and a curious engineer's console) reach: `window.nvlab`. */
export interface LabPageApi {
  client: LabClient;
  state(): LabState | null;
  showAddress: AddressClick;
}

declare global {
  interface Window {
    nvlab?: LabPageApi;
  }
}

// ------------------------------------------------------------------ the message bar

const messageBar = byId("message");
let messageTimer: ReturnType<typeof setTimeout> | undefined;

/** Shows `text` in the message bar: errors stay until dismissed, notes go by themselves. */
function showMessage(text: string, kind: "error" | "note" = "error"): void {
  clearTimeout(messageTimer);
  byId("message-text").textContent = text;
  messageBar.dataset.kind = kind;
  messageBar.hidden = false;
  if (kind === "note") messageTimer = setTimeout(clearMessage, 4000);
}

function clearMessage(): void {
  messageBar.hidden = true;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ------------------------------------------------------------------ the page

class LabPage {
  readonly client: LabClient;
  private readonly entries: CatalogEntry[];
  private entry: CatalogEntry;
  private view: ViewName = "guests";
  private shownAddress: PermalinkAddress | null = null;
  /** The setup of the VM booted last (what a permalink reproduces). */
  private booted: LabSetup | null = null;
  private previous: LabState | null = null;
  private frame = 0;
  /** Only the newest translation request may draw (clicks can outrun the worker). */
  private translationSeq = 0;
  private mapsBusy = false;
  private mapsAgain = false;
  /** Whether the entry shown is a scenario (null before the first), and the checker choice for pairs. */
  private scenarioShown: boolean | null = null;
  private pairCheck = DEFAULT_OPTIONS.check;

  private readonly select = byId<HTMLSelectElement>("guest-select");
  private readonly editor: SourceEditor;
  private readonly options = new OptionsForm(byId("options"));
  private readonly controls: RunControls;
  private readonly registers: RegistersPanel;
  private readonly disasm: DisasmPanel;
  private readonly events: EventsPanel;
  private readonly consolePanel = new ConsolePanel(byId("console"));
  private readonly checker = new CheckerPanel(byId("checker"));
  private readonly expectations = new ExpectationsPanel(byId("expectations"));
  private readonly counters = new MetricsTable(byId("counters"));
  private readonly metrics = new MetricsView(byId("metrics"));
  private readonly maps: MapsView;
  private readonly upload: UploadForm;

  constructor(
    private readonly shipped: ReadonlyMap<string, string>,
    client: LabClient,
  ) {
    this.client = client;
    this.editor = new SourceEditor(byId("file-tabs"), byId("editor"), shipped);
    const act = (body: LabRequestBody): Promise<boolean> => this.act(body);
    this.controls = new RunControls({ act });
    this.registers = new RegistersPanel(byId("vcpu-tabs"), byId("registers"), { onAddress: this.showAddress, select: (vcpu) => void act({ op: "select", vcpu }) });
    this.disasm = new DisasmPanel(byId("disasm"), { onAddress: this.showAddress, act });
    this.events = new EventsPanel(byId("events"), byId("event-kind"), byId("event-filter"), byId("event-count"), { onAddress: this.showAddress, act });
    this.maps = new MapsView(byId("maps"), this.showAddress);
    new ReplPanel(byId("repl-input"), byId("repl-output"), client);
    this.upload = new UploadForm(
      (c) => this.uploaded(c),
      (m) => showMessage(m),
    );

    this.entries = catalog(shipped.keys());
    this.entry = this.entries.find((e) => e.kind === "guests" && e.pair.name === DEMO_PAIR) ?? this.entries[0]!;
    this.fillSelect();
    this.bind();
    this.selectEntry(this.entry);
    this.showView("guests");
    client.onState((s) => this.onState(s));
    client.onFailure((m) => showMessage(m));
    this.controls.render(null);
  }

  // ---------------------------------------------------------------- wiring

  private bind(): void {
    for (const v of VIEWS) byId(`view-${v}`).addEventListener("click", () => this.showView(v));
    this.select.addEventListener("change", () => {
      const e = this.entries.find((x) => entryKey(x) === this.select.value);
      if (e !== undefined) this.selectEntry(e);
    });
    byId("boot").addEventListener("click", () => void this.boot());
    // Enter in an option's field boots, as the form's only action (and never reloads the page).
    byId("options").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.boot();
    });
    byId("revert-file").addEventListener("click", () => this.editor.revertCurrent());
    byId("permalink").addEventListener("click", () => void this.copyPermalink());
    byId("translate-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.translateFromForm();
    });
  }

  private fillSelect(): void {
    const group = (label: string, kind: CatalogEntry["kind"]): HTMLOptGroupElement => {
      const g = el("optgroup");
      g.label = label;
      for (const e of this.entries.filter((x) => x.kind === kind)) {
        const o = el("option", { text: entryLabel(e) });
        o.value = entryKey(e);
        g.append(o);
      }
      return g;
    };
    this.select.replaceChildren(group("L1/L2 pairs", "guests"), group("scenarios", "scenario"));
  }

  /** Makes `entry` the setup being edited: its files in the editor, its options in the form. */
  private selectEntry(entry: CatalogEntry): void {
    this.entry = entry;
    this.select.value = entryKey(entry);
    this.editor.open(setupFiles(entry, (p) => this.editor.text(p)));
    this.upload.setSlots(this.uploadBase().l2.length);
    // General preferences stay; what describes the VM restarts from the entry's own values.
    const prefs = this.readOptionsOr();
    const keep = { engine: prefs.engine, snapshotEvery: prefs.snapshotEvery };
    // A scenario forces the checker on: a pair after it gets back the user's own choice.
    if (this.scenarioShown === false) this.pairCheck = prefs.check;
    this.scenarioShown = entry.kind === "scenario";
    if (entry.kind === "scenario") {
      const own = scenarioOptions(this.editor.text(entry.path) ?? "");
      this.options.setScenario(own);
      this.options.write({ ...DEFAULT_OPTIONS, ...keep, unmap: "", vcpus: own.vcpus ?? 1, directMap: own.directMap ?? false, nestedMmus: own.nestedMmus ?? null, check: true });
    } else {
      this.options.setScenario(null);
      this.options.write({ ...DEFAULT_OPTIONS, ...keep, check: this.pairCheck, vcpus: entry.pair.vcpus });
    }
  }

  private readOptionsOr(): LabOptions {
    try {
      return this.options.read();
    } catch {
      return DEFAULT_OPTIONS;
    }
  }

  /** The setup as the editor and the form hold it now (edited files replacing shipped ones). */
  private currentSetup(): LabSetup {
    const options = this.options.read();
    const files = setupFiles(this.entry, (p) => this.editor.text(p));
    // A scenario's images can change with its text: the tabs follow what will be loaded.
    this.editor.open(files);
    const sources = this.editor.sources(files.map((f) => f.path));
    const e = this.entry;
    return e.kind === "guests" ? { kind: "guests", l1: e.pair.l1, l2: e.pair.l2, files: sources, options } : { kind: "scenario", path: e.path, files: sources, options };
  }

  private async boot(): Promise<boolean> {
    let setup: LabSetup;
    try {
      setup = this.currentSetup();
    } catch (e) {
      showMessage(errorText(e));
      return false;
    }
    return this.load(setup);
  }

  private async load(setup: LabSetup): Promise<boolean> {
    byId<HTMLButtonElement>("boot").disabled = true;
    try {
      await this.client.request({ op: "load", setup });
      this.booted = setup;
      this.editor.setDiagnostics([]);
      clearMessage();
      if (this.view === "guests") this.showView("run");
      return true;
    } catch (e) {
      this.loadFailed(e);
      return false;
    } finally {
      byId<HTMLButtonElement>("boot").disabled = false;
    }
  }

  private loadFailed(e: unknown): void {
    const placed = e instanceof LabRequestError && e.sourceErrors.length > 0;
    const unplaced = placed ? this.editor.setDiagnostics(e.sourceErrors) : [];
    if (placed) this.showView("guests");
    const extra = unplaced.map((u) => `\n${u.file}:${u.line}:${u.col}: ${u.message}`).join("");
    showMessage(`boot failed: ${errorText(e)}${extra}`);
  }

  /** One request whose refusal the user must see; resolves to whether the worker did it. */
  private async act(body: LabRequestBody): Promise<boolean> {
    try {
      await this.client.request(body);
      return true;
    } catch (e) {
      showMessage(errorText(e));
      return false;
    }
  }

  // ---------------------------------------------------------------- views

  private showView(name: ViewName): void {
    this.view = name;
    for (const v of VIEWS) {
      const on = v === name;
      byId(`panel-${v}`).hidden = !on;
      const tab = byId(`view-${v}`);
      tab.classList.toggle("active", on);
      tab.setAttribute("aria-selected", String(on));
    }
    if (name === "maps") void this.refreshMaps();
    this.schedule();
  }

  /** Every address link on the page lands here: the Translation view, asked of the worker. */
  readonly showAddress: AddressClick = (space, addr, level) => {
    const lvl = space === "va" ? (level ?? this.shownLevel()) : undefined;
    this.shownAddress = lvl === undefined ? { space, addr } : { space, addr, level: lvl };
    this.fillTranslateForm(space, addr, lvl);
    this.showView("translation");
    void this.refreshTranslation();
  };

  private shownLevel(): AddressLevel {
    const s = this.client.state;
    return s?.vcpus.find((v) => v.index === s.current)?.level ?? "L2";
  }

  private async refreshTranslation(): Promise<void> {
    const a = this.shownAddress;
    if (a === null) return;
    const seq = ++this.translationSeq;
    const target = byId("translation");
    try {
      const body: LabRequestBody = a.space === "va" ? { op: "translate", level: a.level ?? "L2", va: a.addr } : { op: "translate-space", space: a.space, addr: a.addr };
      const report = (await this.client.request(body)) as TranslationReport;
      if (seq === this.translationSeq) renderTranslation(target, report, this.showAddress);
    } catch (e) {
      if (seq !== this.translationSeq) return;
      target.replaceChildren(el("p", { className: "error", text: `${a.space} ${hex(a.addr)}: ${errorText(e)}` }));
      showMessage(errorText(e));
    }
  }

  private fillTranslateForm(space: AddressSpace, addr: bigint, level: AddressLevel | undefined): void {
    byId<HTMLSelectElement>("translate-space").value = space;
    if (level !== undefined) byId<HTMLSelectElement>("translate-level").value = level;
    byId<HTMLInputElement>("translate-addr").value = hex(addr);
  }

  private translateFromForm(): void {
    const space = byId<HTMLSelectElement>("translate-space").value as AddressSpace;
    const level = byId<HTMLSelectElement>("translate-level").value as AddressLevel;
    const text = byId<HTMLInputElement>("translate-addr").value.trim();
    if (!/^(0x[0-9a-f]{1,16}|\d{1,20})$/i.test(text)) {
      showMessage(`"${text}" is not an address: give 0x-hex or decimal`);
      return;
    }
    this.showAddress(space, BigInt(text), space === "va" ? level : undefined);
  }

  /** Maps are heavy to collect: one request at a time, and one more if a stop came meanwhile. */
  private async refreshMaps(): Promise<void> {
    if (this.client.state === null || this.client.state.status === "empty") return;
    if (this.mapsBusy) {
      this.mapsAgain = true;
      return;
    }
    this.mapsBusy = true;
    try {
      this.maps.update((await this.client.request({ op: "maps" })) as MapsData);
    } catch (e) {
      showMessage(`maps: ${errorText(e)}`);
    } finally {
      this.mapsBusy = false;
    }
    if (this.mapsAgain && this.view === "maps") {
      this.mapsAgain = false;
      void this.refreshMaps();
    }
  }

  // ---------------------------------------------------------------- states

  private onState(state: LabState): void {
    // The chart keeps a history: every state joins it, drawn or not.
    this.metrics.update(state);
    const prev = this.previous;
    this.previous = state;
    const stopped = state.status !== "running";
    if (stopped && (prev === null || prev.status !== state.status || prev.step !== state.step)) this.afterStop();
    this.schedule();
  }

  /** What is on screen and depends on the VM's memory is asked again at each stop. */
  private afterStop(): void {
    if (this.view === "maps") void this.refreshMaps();
    if (this.view === "translation") void this.refreshTranslation();
  }

  private schedule(): void {
    if (this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private render(): void {
    const s = this.client.state;
    this.controls.render(s);
    if (s === null) return;
    if (this.view === "run") {
      this.registers.render(s);
      this.disasm.render(s);
      this.consolePanel.render(s);
      this.checker.render(s);
      this.expectations.render(s);
      this.counters.render(s);
    } else if (this.view === "events") this.events.render(s);
  }

  // ---------------------------------------------------------------- permalinks

  private async copyPermalink(): Promise<void> {
    try {
      const setup = this.booted ?? this.currentSetup();
      const step = this.booted === null ? null : (this.client.state?.step ?? null);
      const hash = await permalinkHash({ setup, step, view: this.view, address: this.shownAddress }, this.shipped);
      history.replaceState(null, "", hash);
      const field = byId<HTMLInputElement>("permalink-url");
      field.value = location.href;
      field.hidden = false;
      field.select();
      await navigator.clipboard.writeText(location.href).then(
        () => showMessage("permalink copied", "note"),
        () => showMessage("permalink is in the address bar and the field beside the status (copying was not allowed)", "note"),
      );
    } catch (e) {
      showMessage(`permalink: ${errorText(e)}`);
    }
  }

  /** Boots what the link holds, then goes to its step, view and address. */
  async openPermalink(link: Permalink): Promise<void> {
    const setup = link.setup;
    for (const f of setup.files) {
      if (f.bytes !== undefined) this.editor.setBinary(f.path, f.bytes, uploadSummary(f.path, f.bytes));
      else if (this.shipped.get(f.path) !== f.text) this.editor.setText(f.path, f.text);
    }
    this.selectEntry(this.entryFor(setup));
    this.options.write(setup.options);
    if (!(await this.load(setup))) return;
    if (link.step !== null && link.step > 0) await this.act({ op: "goto", step: link.step });
    const view = VIEWS.find((v) => v === link.view);
    if (view !== undefined) this.showView(view);
    if (link.address !== null) this.showAddress(link.address.space, link.address.addr, link.address.level);
  }

  /** The catalog entry a setup boots, or a new one (a pair with other images) joining the select. */
  private entryFor(setup: LabSetup): CatalogEntry {
    const same = (e: CatalogEntry): boolean =>
      setup.kind === "scenario"
        ? e.kind === "scenario" && e.path === setup.path
        : e.kind === "guests" && e.pair.l1 === setup.l1 && e.pair.l2.length === setup.l2.length && e.pair.l2.every((i, n) => i.path === setup.l2[n]?.path && i.ipa === setup.l2[n]?.ipa);
    const found = this.entries.find(same);
    if (found !== undefined) return found;
    const entry: CatalogEntry = setup.kind === "scenario" ? { kind: "scenario", path: setup.path } : { kind: "guests", pair: { name: "from the link", l1: setup.l1, l2: setup.l2, vcpus: setup.options.vcpus } };
    return this.addEntry(entry, entryLabel(entry));
  }

  /** Puts `entry` in the select, first, replacing one with the same key (a custom pair changes with each upload). */
  private addEntry(entry: CatalogEntry, label: string): CatalogEntry {
    const key = entryKey(entry);
    const at = this.entries.findIndex((e) => entryKey(e) === key);
    if (at >= 0) this.entries[at] = entry;
    else this.entries.push(entry);
    const old = [...this.select.options].find((o) => o.value === key);
    const o = old ?? el("option");
    o.textContent = label;
    o.value = key;
    if (old === undefined) this.select.prepend(o);
    return entry;
  }

  // ---------------------------------------------------------------- uploads

  /** The pair an upload changes: the one being edited, or the demo's when a scenario is. */
  private uploadBase(): GuestPair {
    if (this.entry.kind === "guests") return this.entry.pair;
    return GUEST_PAIRS.find((p) => p.name === DEMO_PAIR) ?? GUEST_PAIRS[0]!;
  }

  /** An uploaded file takes its slot: the setup becomes a custom pair, the file's tab shown. */
  private uploaded(c: UploadChoice): void {
    const format = uploadFormat(c.name, c.bytes);
    const path = uploadPath(c.slot, c.name, format, (p) => this.shipped.has(p));
    if (format === "asm") this.editor.setText(path, new TextDecoder().decode(c.bytes));
    else this.editor.setBinary(path, c.bytes, uploadSummary(path, c.bytes));
    const pair = placeUpload(this.uploadBase(), c.slot, path, c.ipa);
    const entry = this.addEntry({ kind: "guests", pair }, customLabel(pair));
    // From a pair, the options stay as the user set them; from a scenario, they restart as a pair's.
    if (this.entry.kind === "scenario") this.selectEntry(entry);
    else {
      this.entry = entry;
      this.select.value = entryKey(entry);
      this.editor.open(setupFiles(entry, (p) => this.editor.text(p)));
      this.upload.setSlots(pair.l2.length);
    }
    this.editor.show(path);
    showMessage(`${c.name}: ${format === "asm" ? "source" : format === "elf" ? "ELF" : "raw binary"} as ${slotLabel(c.slot)}; Boot to load it`, "note");
  }
}

// ------------------------------------------------------------------ start

/** The shipped sources next to the page (web/build.ts writes files.json: [{path, text}]). */
async function loadShipped(): Promise<Map<string, string>> {
  const res = await fetch(new URL("files.json", location.href));
  if (!res.ok) throw new Error(`files.json: HTTP ${res.status}`);
  const list: unknown = await res.json();
  if (!Array.isArray(list)) throw new Error("files.json is not a list of {path, text}");
  const out = new Map<string, string>();
  for (const f of list as { path?: unknown; text?: unknown }[]) if (typeof f.path === "string" && typeof f.text === "string") out.set(f.path, f.text);
  return out;
}

async function start(): Promise<void> {
  window.addEventListener("error", (e) => showMessage(`page error: ${e.message}`));
  window.addEventListener("unhandledrejection", (e) => showMessage(`page error: ${errorText(e.reason)}`));
  byId("message-close").addEventListener("click", clearMessage);
  let shipped: Map<string, string>;
  try {
    shipped = await loadShipped();
  } catch (e) {
    showMessage(`the shipped guests could not be loaded (${errorText(e)}): only an empty editor is available`);
    shipped = new Map();
  }
  const client = LabClient.start();
  const page = new LabPage(shipped, client);
  window.nvlab = { client, state: () => client.state, showAddress: page.showAddress };
  const openHash = async (): Promise<void> => {
    try {
      const link = await readPermalinkHash(location.hash, shipped);
      if (link !== null) await page.openPermalink(link);
    } catch (e) {
      showMessage(errorText(e));
    }
  };
  // A link pasted into this tab's address bar changes only the hash: no reload, so open it here.
  window.addEventListener("hashchange", () => void openHash());
  await openHash();
}

void start();
