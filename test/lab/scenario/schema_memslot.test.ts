// The memslot actions and VM options of the scenario format: typed when valid, refused with the
// field path otherwise.

import { describe, expect, it } from "vitest";
import { parseScenario } from "../../../lab/scenario/schema.ts";
import { problems } from "./problems.ts";

const HEAD = `name: t
images:
  l1: {file: a.S}
`;

describe("scenario schema: memslot actions", () => {
  it("accepts deleteMemslot, logDirtyPages, getDirtyLog and the ramSlots / nestedS2WpFlush VM options", () => {
    const s = parseScenario(
      `${HEAD}vm: {ramSlots: 4, nestedS2WpFlush: true}
timeline:
  - at: {step: 10}
    do: {logDirtyPages: {ipa: 0x48000000, enable: true}}
  - at: {exits: 5}
    do: {getDirtyLog: {ipa: "0x4800_0000"}}
  - at: {exits: 9}
    do: {deleteMemslot: {ipa: 64M}}
expect:
  metrics:
    dirtyLog.dirtyPages.last: {eq: 3}
    stage2.relaxPerms: {min: 1}
    memslotsDeleted: {eq: 1}
`,
      "s.yaml",
    );
    expect(s.vm).toEqual({ ramSlots: 4, nestedS2WpFlush: true });
    expect(s.timeline!.map((t) => t.do)).toEqual([
      { logDirtyPages: { ipa: 0x4800_0000n, enable: true } },
      { getDirtyLog: { ipa: 0x4800_0000n } },
      { deleteMemslot: { ipa: 0x400_0000n } },
    ]);
  });

  it("refuses a logDirtyPages without enable, an unknown key, and a ramSlots of 0", () => {
    expect(
      problems(`${HEAD}vm: {ramSlots: 0}
timeline:
  - at: {step: 1}
    do: {logDirtyPages: {ipa: 0x48000000}}
  - at: {step: 2}
    do: {deleteMemslot: {ipa: 0x48000000, size: 4K}}
expect: {}
`),
    ).toEqual([
      "s.yaml:4:16: vm.ramSlots: expected a positive integer",
      "s.yaml:7:25: timeline[0].do.logDirtyPages.enable: is required",
      's.yaml:9:43: timeline[1].do.deleteMemslot.size: unknown key "size"',
    ]);
  });
});
