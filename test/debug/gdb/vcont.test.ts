import { describe, expect, it } from "vitest";
import { parseVCont, vContPlan } from "../../../debug/gdb/vcont.ts";

describe("vCont", () => {
  it("parses continue and step actions, with and without a signal or a thread", () => {
    expect(parseVCont("c")).toEqual([{ op: "c", thread: "all" }]);
    expect(parseVCont("s:2;c")).toEqual([{ op: "s", thread: 2 }, { op: "c", thread: "all" }]);
    expect(parseVCont("S05:p1.3;C02:-1")).toEqual([{ op: "s", thread: 3 }, { op: "c", thread: "all" }]);
    expect(parseVCont("c:0")).toEqual([{ op: "c", thread: "any" }]);
  });

  it("refuses range stepping, stop, malformed signals and threads", () => {
    for (const a of ["", "t", "r40000000,40000010:1", "S5", "Czz", "s:zz", "c;", "x"]) expect(parseVCont(a), a).toBeNull();
  });

  it("in all-stop mode: a step action steps its thread only, else every vCPU runs", () => {
    expect(vContPlan(parseVCont("s:3;c")!)).toEqual({ step: 3 });
    expect(vContPlan(parseVCont("c:1;s:2")!)).toEqual({ step: 2 });
    expect(vContPlan(parseVCont("s")!)).toEqual({ step: "current" });
    expect(vContPlan(parseVCont("s:0")!)).toEqual({ step: "current" });
    expect(vContPlan(parseVCont("c")!)).toEqual({ run: true });
    expect(vContPlan(parseVCont("c:2")!)).toEqual({ run: true });
  });
});
