import { describe, expect, it } from "vitest";
import { formatThreadId, parseThreadId } from "../../../debug/gdb/thread_id.ts";

describe("gdb thread ids", () => {
  it("reads hex ids, 0 as any, -1 as all, and the multiprocess pPID.TID form", () => {
    expect(parseThreadId("1")).toBe(1);
    expect(parseThreadId("0a")).toBe(10);
    expect(parseThreadId("0")).toBe("any");
    expect(parseThreadId("-1")).toBe("all");
    expect(parseThreadId("p1.3")).toBe(3);
    expect(parseThreadId("p-1.-1")).toBe("all");
    expect(parseThreadId("p1.0")).toBe("any");
  });

  it("is null for anything else", () => {
    for (const t of ["", "-2", "zz", "1.2", "p1", "p.1", "123456789", " 1", "-"]) expect(parseThreadId(t), t).toBeNull();
  });

  it("writes two hex digits at least", () => {
    expect(formatThreadId(1)).toBe("01");
    expect(formatThreadId(16)).toBe("10");
    expect(formatThreadId(0x123)).toBe("123");
  });
});
