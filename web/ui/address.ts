// Addresses are the page's hyperlinks: wherever one is shown (registers, events, disassembly,
// translation walks, maps) it is drawn by addressLink, so a click on any of them lands in the
// single showAddress of main.ts, which opens the Translation view for it.

export type AddressSpace = "va" | "nipa" | "ipa" | "pa";
export type AddressLevel = "L1" | "L2";

export type AddressClick = (space: AddressSpace, addr: bigint, level?: AddressLevel) => void;

/** `v` as 0x-hex, zero-padded to `width` digits; read as 64 bits so a negative stays a register value. */
export function hex(v: bigint, width = 0): string {
  return "0x" + BigInt.asUintN(64, v).toString(16).padStart(width, "0");
}

const SPACE_HINT: Record<AddressSpace, string> = {
  va: "virtual address",
  nipa: "nested IPA",
  ipa: "canonical IPA",
  pa: "host PA",
};

/** A focusable <a class="addr"> showing `addr` that calls `onAddress` on click or Enter. */
export function addressLink(space: AddressSpace, addr: bigint, onAddress: AddressClick, level?: AddressLevel): HTMLElement {
  const a = document.createElement("a");
  a.className = "addr";
  a.dataset.space = space;
  a.dataset.addr = hex(addr);
  if (level !== undefined) a.dataset.level = level;
  a.textContent = hex(addr);
  // No href: a "#" would fight the permalink for location.hash.
  a.tabIndex = 0;
  a.setAttribute("role", "link");
  a.title = `${level === undefined ? "" : `${level} `}${SPACE_HINT[space]}: show its translation`;
  const go = (e: Event): void => {
    e.preventDefault();
    e.stopPropagation();
    onAddress(space, addr, level);
  };
  a.addEventListener("click", go);
  a.addEventListener("keydown", (e) => {
    if (e.key === "Enter") go(e);
  });
  return a;
}
