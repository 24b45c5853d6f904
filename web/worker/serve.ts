// One request of the page (web/protocol.ts) answered by the lab's VM. Kept apart from the worker's
// message plumbing so tests drive it in Node exactly as the page does.

import { translateSpace } from "../../debug/translate_space.ts";
import type { LabRequestBody } from "../protocol.ts";
import type { LabVm } from "./lab_vm.ts";

export async function serveRequest(vm: LabVm, req: LabRequestBody): Promise<unknown> {
  switch (req.op) {
    case "load": return vm.load(req.setup);
    case "run": return vm.run();
    case "pause": return vm.interrupt();
    case "step": return vm.step(req.unit, req.count, req.vcpu);
    case "goto": return vm.goto(req.step);
    case "reverse-step": return vm.reverseStep();
    case "reverse-continue": return vm.reverseContinue();
    case "select": return vm.selectVcpu(req.vcpu);
    case "command": return vm.command(req.line);
    case "translate": return vm.session().translate(req.va, req.level);
    case "translate-space": return translateSpace(vm.session().vcpu, req.space, req.addr, req.mmu);
    case "maps": return vm.maps();
    case "break": return vm.addBreak(req.spec);
    case "delete": return vm.deleteBreak(req.breakpoint);
  }
}
