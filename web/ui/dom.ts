// The one DOM-building helper the page's panels share, so each panel reads as the structure it builds.

type Child = Node | string | null | undefined | false;

export interface ElementProps {
  id?: string;
  className?: string;
  title?: string;
  testid?: string;
  text?: string;
}

/** A new `<tag>` with `props` and `children` (strings become text nodes; null/false are skipped). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: ElementProps = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.id !== undefined) e.id = props.id;
  if (props.className !== undefined) e.className = props.className;
  if (props.title !== undefined) e.title = props.title;
  if (props.testid !== undefined) e.dataset.testid = props.testid;
  if (props.text !== undefined) e.textContent = props.text;
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c);
  }
  return e;
}

/** The element with id `id`, which the page's HTML must have. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`the page has no #${id}`);
  return e as T;
}
