import { describe, expect, it } from "vitest";
import { EVENT_KINDS } from "../../hypervisor/event_data.ts";
import { formatEventData } from "../../hypervisor/event_format.ts";
import { EventLog, formatEvent } from "../../hypervisor/events.ts";
import { EVENT_SAMPLES } from "./event_samples.ts";

describe("event formatters (TP_printk)", () => {
  it.each(EVENT_SAMPLES)("$name", ({ data, text }) => {
    expect(formatEventData(data)).toBe(text);
  });

  it("the samples cover every kind", () => {
    expect(new Set(EVENT_SAMPLES.map((s) => s.data.kind))).toEqual(new Set(EVENT_KINDS));
  });

  it("a logged event keeps its fields and formats its text once, on first use", () => {
    const log = new EventLog(4);
    const data = EVENT_SAMPLES.find((s) => s.data.kind === "tlbi")!;
    log.add(data.data, 42);
    const e = log.recent(1)[0]!;
    expect(e.data).toBe(data.data);
    expect(e.kind).toBe("tlbi");
    expect(e.detail).toBe(data.text);
    expect(e.detail).toBe(e.detail);
    expect(formatEvent(e)).toBe(`[        42] tlbi            ${data.text}`);
    expect(JSON.parse(JSON.stringify(e))).toEqual({ step: 42, kind: "tlbi", detail: data.text });
  });
});
