// The registers of the shown vCPU: GPRs, SP, PC, PSTATE, and L2's EL1 context and L1's virtual
// EL2 registers folded away. Every value that is an address is a link to its translation, in the
// space and regime it belongs to; values that changed since the last stop are marked.

import type { LabState, VcpuView } from "../protocol.ts";
import { addressLink, hex, type AddressClick, type AddressLevel, type AddressSpace } from "./address.ts";
import { el } from "./dom.ts";

export interface RegistersHost {
  onAddress: AddressClick;
  /** The user picked another vCPU's tab. */
  select(vcpu: number): void;
}

/** Where a system register value points, when it is an address (null: a plain value). */
type Pointer = { space: AddressSpace; level?: AddressLevel; mask?: bigint; shift?: bigint } | null;

/** A translation table base register's BADDR (ASID/VMID and CnP stripped). */
const BADDR = 0x0000_ffff_ffff_fffen;

function sysRegPointer(name: string, exceptionFrom: AddressLevel): Pointer {
  // ELR/FAR hold the address of what took the exception: for vEL2 usually L2 (SPSR tells).
  if (/^(ELR|FAR)_EL2$/.test(name)) return { space: "va", level: exceptionFrom };
  if (/^(VBAR|SP)_EL2$/.test(name)) return { space: "va", level: "L1" };
  if (/^(ELR|FAR|VBAR|SP)_EL1$/.test(name)) return { space: "va", level: "L2" };
  // L2's stage-1 tables sit at nested IPAs, L1's own stage-1 and stage-2 tables at canonical IPAs.
  if (/^TTBR[01]_EL1$/.test(name)) return { space: "nipa", mask: BADDR };
  if (name === "TTBR0_EL2" || name === "VTTBR_EL2") return { space: "ipa", mask: BADDR };
  // HPFAR_EL2.FIPA is the faulting nested IPA's page number, from bit 4.
  if (name === "HPFAR_EL2") return { space: "nipa", mask: 0x0000_0fff_ffff_fff0n, shift: 8n };
  return null;
}

export class RegistersPanel {
  /** The values at the last stop rendered (`key`: vCPU@step), and those the marks compare against. */
  private last = new Map<string, bigint>();
  private key = "";
  private base = new Map<string, bigint>();
  private readonly open = new Set<string>();
  /** The state drawn last, to draw a record again when it is unfolded. */
  private lastState: LabState | null = null;

  constructor(
    private readonly tabs: HTMLElement,
    private readonly body: HTMLElement,
    private readonly host: RegistersHost,
  ) {}

  render(state: LabState): void {
    this.lastState = state;
    const vcpu = state.vcpus.find((v) => v.index === state.current) ?? state.vcpus[0];
    this.renderTabs(state);
    if (vcpu === undefined) {
      this.body.replaceChildren(el("div", { className: "empty", text: "no vCPU" }));
      return;
    }
    // Changes are marked against the same vCPU at the step rendered before this one.
    const key = `${vcpu.index}@${state.step}`;
    if (key !== this.key) {
      this.base = this.key.startsWith(`${vcpu.index}@`) ? this.last : new Map();
      this.last = values(vcpu);
      this.key = key;
    }
    const base = this.base;
    const r = vcpu.registers;
    const gprs = r.x.map((v, i) => this.cell(`x${i}`, v, base, { space: "va", level: vcpu.level }));
    const special = [
      this.cell("sp", r.sp, base, { space: "va", level: vcpu.level }),
      this.cell("pc", r.pc, base, { space: "va", level: vcpu.level }),
      this.cell("cpsr", r.cpsr, base, null),
    ];
    const from: AddressLevel = ((r.vel2.SPSR_EL2 ?? 0n) >> 2n) % 4n === 2n ? "L1" : "L2";
    this.body.replaceChildren(
      el("div", { className: "reg-location", text: vcpu.location === "" ? `vCPU ${vcpu.index} ${vcpu.level}` : vcpu.location }),
      el("div", { className: "reg-grid" }, ...gprs, ...special),
      this.record("el1", "L2's EL1 context", r.el1, base, from),
      this.record("vel2", "L1's virtual EL2", r.vel2, base, from),
    );
  }

  private renderTabs(state: LabState): void {
    if (state.vcpus.length <= 1) {
      this.tabs.replaceChildren();
      return;
    }
    this.tabs.replaceChildren(
      ...state.vcpus.map((v) => {
        const b = el("button", { className: "tab", text: `vCPU ${v.index} ${v.level}`, title: v.location });
        b.type = "button";
        b.dataset.vcpu = String(v.index);
        b.classList.toggle("active", v.index === state.current);
        b.addEventListener("click", () => this.host.select(v.index));
        return b;
      }),
    );
  }

  private record(name: "el1" | "vel2", title: string, regs: Record<string, bigint>, base: Map<string, bigint>, from: AddressLevel): HTMLElement {
    const open = this.open.has(name);
    // A folded record's cells are not built: most stops nobody looks at them.
    const cells = open ? Object.entries(regs).map(([reg, v]) => this.cell(reg, v, base, sysRegPointer(reg, from), `${name}.${reg}`)) : [];
    const d = el("details", { className: "reg-record" }, el("summary", { text: `${title} (${name})` }), el("div", { className: "reg-grid sys" }, ...cells));
    d.open = open;
    d.addEventListener("toggle", () => {
      if (d.open === this.open.has(name)) return;
      if (d.open) this.open.add(name);
      else this.open.delete(name);
      if (this.lastState !== null) this.render(this.lastState);
    });
    return d;
  }

  private cell(name: string, v: bigint, base: Map<string, bigint>, ptr: Pointer, key = name): HTMLElement {
    const before = base.get(key);
    const changed = before !== undefined && before !== v;
    const value = ptr === null || v === 0n ? el("span", { className: "val", text: hex(v, 16) }) : this.link(v, ptr);
    const c = el("div", { className: changed ? "reg changed" : "reg" }, el("span", { className: "name", text: name }), value);
    c.dataset.reg = key;
    return c;
  }

  private link(v: bigint, ptr: NonNullable<Pointer>): HTMLElement {
    const addr = (v & (ptr.mask ?? ~0n)) << (ptr.shift ?? 0n);
    const a = addressLink(ptr.space, addr, this.host.onAddress, ptr.level);
    // The register's own value stays what is shown; the link goes where it points.
    a.textContent = hex(v, 16);
    if (addr !== v) a.title = `${a.title} (${hex(addr)})`;
    return a;
  }
}

/** Every register of `vcpu` by the key cells use, to compare two stops. */
function values(vcpu: VcpuView): Map<string, bigint> {
  const r = vcpu.registers;
  const m = new Map<string, bigint>(r.x.map((v, i) => [`x${i}`, v]));
  m.set("sp", r.sp).set("pc", r.pc).set("cpsr", r.cpsr);
  for (const [k, v] of Object.entries(r.el1)) m.set(`el1.${k}`, v);
  for (const [k, v] of Object.entries(r.vel2)) m.set(`vel2.${k}`, v);
  return m;
}
