// Vega-lite specs rendered to SVG headless: vega's "none" renderer builds the scenegraph and
// serialises it to SVG without a canvas or a browser.

import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { PlotSpec } from "./types.ts";

export class PlotError extends Error {
  constructor(
    readonly plot: string,
    cause: unknown,
  ) {
    super(`plot "${plot}" could not be rendered: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "PlotError";
  }
}

export async function renderSvg(plot: PlotSpec): Promise<string> {
  let view: vega.View | null = null;
  try {
    const spec = { background: "white", title: plot.title, ...plot.spec } as TopLevelSpec;
    const compiled = compile(spec).spec;
    view = new vega.View(vega.parse(compiled), { renderer: "none", logLevel: vega.Warn });
    const svg = await view.toSVG();
    if (!svg.startsWith("<svg")) throw new Error("vega produced no SVG");
    return svg;
  } catch (e) {
    throw new PlotError(plot.name, e);
  } finally {
    view?.finalize();
  }
}
