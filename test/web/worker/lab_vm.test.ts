// The lab page's VM controller driven in Node through the same requests the page sends: the demo
// runs to the same console as `nvlab run`, steps land where the debugger's do, a pause stops a run,
// load errors are placed in their file, and states carry what the page draws.

import { describe, expect, it } from "vitest";
import { runCommand } from "../../../cli/run.ts";
import type { LabOptions, LabSetup, LabState } from "../../../web/protocol.ts";
import { LabLoadError, LabVm } from "../../../web/worker/lab_vm.ts";
import { serveRequest } from "../../../web/worker/serve.ts";

const OPTIONS: LabOptions = {
  unmap: "revmap", directMap: false, vcpus: 1, nestedMmus: null, seed: null, chaos: null, check: true, engine: "interp", snapshotEvery: 20_000,
};

function demo(options: Partial<LabOptions> = {}, l2 = "guests/l2/hello.S"): LabSetup {
  return { kind: "guests", l1: "guests/l1/hyp.S", l2: [{ path: l2, ipa: 0x4800_0000n }], files: [], options: { ...OPTIONS, ...options } };
}

function lab(): { vm: LabVm; states: LabState[]; clock: { t: number } } {
  const states: LabState[] = [];
  const clock = { t: 0 };
  const vm = new LabVm({ post: (s) => states.push(s), setFiles: () => {}, now: () => (clock.t += 1) });
  return { vm, states, clock };
}

describe("LabVm", () => {
  it("runs the demo to the console and exit nvlab run gives", async () => {
    const cli = await runCommand({ l1: { file: "guests/l1/hyp.S", ipa: null }, l2: [{ file: "guests/l2/hello.S", ipa: 0x4800_0000n }], memory: 256n << 20n, vcpus: 1, maxSteps: 100_000_000, unmap: "revmap", check: true, engine: "interp" });
    const { vm, states } = lab();
    await serveRequest(vm, { op: "load", setup: demo() });
    expect(states.at(-1)!.status).toBe("ready");
    const stop = await serveRequest(vm, { op: "run" });
    const last = states.at(-1)!;
    expect(last.status).toBe("finished");
    expect(last.console).toBe(cli.console);
    expect(last.step).toBe(cli.steps);
    expect(last.outcome).toBe("PSCI SYSTEM_OFF, exit code 0");
    expect(stop).toContain("the run is over");
    expect(last.checker.attached).toBe(true);
    expect(last.metrics["exits"] ?? Object.keys(last.metrics).length).toBeGreaterThan(0);
    expect(last.events.length).toBeGreaterThan(0);
    expect(last.events.some((e) => e.kind === "shadow-fault" && e.addresses.some((a) => a.space === "nipa"))).toBe(true);
  });

  it("steps to the next exit and to L2, with the registers the debugger reads", async () => {
    const { vm, states } = lab();
    await vm.load(demo());
    await vm.step("exit", 1);
    const afterExit = states.at(-1)!;
    expect(afterExit.stop).toMatch(/^next exit: \[\d+\] exit: /);
    expect(afterExit.breakpoints).toEqual([]);
    // On to L2's first instruction: a breakpoint on the L2 image's entry symbol.
    expect(vm.addBreak("l2_entry").text).toContain("l2_entry");
    await vm.run();
    const inL2 = states.at(-1)!;
    expect(inL2.vcpus[0]!.level).toBe("L2");
    const entry = inL2.vcpus[0]!.pc;
    expect(inL2.vcpus[0]!.location).toContain("<l2_entry>");
    expect(inL2.vcpus[0]!.registers.pc).toBe(entry);
    expect(inL2.vcpus[0]!.disasm.find((d) => d.current)!.breakpoint).toBe(true);
    const regs = await vm.command("regs");
    expect(regs).toContain("level L2");
    const x0 = inL2.vcpus[0]!.registers.x[0]!;
    expect(regs).toContain(`x0 0x${x0.toString(16).padStart(16, "0")}`);
    // L1 maps L2 lazily: its first instruction takes a stage-2 fault L0 injects into L1.
    await vm.step("instruction", 1);
    const injected = states.at(-1)!.vcpus[0]!;
    expect(injected.level).toBe("L1");
    expect(injected.location).toContain("<lower_sync>");
    expect(states.at(-1)!.events.some((e) => e.kind === "inject" && e.text.includes("stage-2 fault to L1"))).toBe(true);
    expect(entry).toBe(0x4000_0000n);
  });

  it("goes back along the timeline to an earlier step and forward again to the same state", async () => {
    const { vm, states } = lab();
    await vm.load(demo());
    await vm.run();
    const end = states.at(-1)!;
    vm.goto(Math.floor(end.step / 2));
    const mid = states.at(-1)!;
    expect(mid.step).toBe(Math.floor(end.step / 2));
    expect(mid.reached).toBe(end.step);
    expect(end.console.startsWith(mid.console)).toBe(true);
    vm.goto(end.step);
    expect(states.at(-1)!.console).toBe(end.console);
  });

  it("pauses a run in progress", async () => {
    const { vm, states } = lab();
    await vm.load(demo({}, "guests/l2/checksum.S"));
    const running = vm.run();
    await new Promise((r) => setTimeout(r, 0));
    expect(vm.interrupt()).toBe(true);
    const stop = await running;
    expect(stop).toBe("interrupted");
    const st = states.at(-1)!;
    expect(st.status).toBe("stopped");
    expect(st.step).toBeGreaterThan(0);
  });

  it("places an assembler error in its file and line", async () => {
    const { vm } = lab();
    const err = await vm.load(demo({}, "guests/bad/l2_spin.S")).then(() => null, (e: unknown) => e);
    // A guest that assembles is no error; a file that does not exist is one, named.
    expect(err).toBeNull();
    const missing = await vm.load(demo({}, "guests/l2/nope.S")).then(() => null, (e: unknown) => e);
    expect(missing).toBeInstanceOf(LabLoadError);
    expect((missing as Error).message).toContain("guests/l2/nope.S");
  });

  it("boots a scenario and judges its expectations at the end", async () => {
    const { vm, states } = lab();
    await vm.load({ kind: "scenario", path: "scenarios/revmap_stale.yaml", files: [], options: { ...OPTIONS, unmap: "" } });
    await vm.run();
    const st = states.at(-1)!;
    expect(st.status).toBe("finished");
    expect(st.expectations).not.toBeNull();
    expect(st.expectations!.at(-1)).toMatch(/PASS|FAIL/);
    expect(st.events.some((e) => e.kind === "unmap")).toBe(true);
  });
  it("maps count changes and removals from one stop to the next, wherever the page looked in between", async () => {
    const { vm } = lab();
    await vm.load(demo({}, "guests/l2/touch.S"));
    expect(vm.maps().shadows[0]).toEqual([]);
    const bp = vm.addBreak("event shadow-fault");
    await vm.run();
    const atFault = vm.maps();
    expect(atFault.shadows[0]!.map((l) => [l.nested, l.changed])).toEqual([[0x4000_0000n, true]]);
    vm.deleteBreak(bp.id);
    await vm.run();
    // The page did not ask at the end of the run; the unmap's stop still compares with that one.
    expect(await vm.command("inject unmap 0x48100000")).toContain("unmapped canonical 0x48100000+0x1000");
    const after = vm.maps();
    expect(after.removed[0]!.map((l) => [l.nested, l.canonical])).toEqual([[0x4010_0000n, 0x4810_0000n]]);
    expect(after.shadows[0]!.filter((l) => l.changed)).toEqual([]);
    expect(after.shadows[0]).toHaveLength(64);
  });
});
