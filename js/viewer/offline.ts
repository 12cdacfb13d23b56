// An exported file (config.offline, docs/protocol.md "Export"): no connection; the board snapshot
// embedded in the page is drawn with the viewer's own renderer, every shape mounted.

import * as Y from "yjs";
import { Renderer } from "./board/render";
import { ROOT } from "./board/schema";
import { readShape } from "./board/shapes";
import { Space } from "./board/space";
import type { PageConfig } from "./config";
import { Detached } from "./detached";
import { hydrateFigures } from "./figures";
import { Layout } from "./layout";

function decode(b64: string): Uint8Array {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/** Draw the file: `snapshot` is the page's #jupyterspot-board block (base64 Yjs update, JSON). */
export function startOffline(config: PageConfig, root: HTMLElement, snapshot: HTMLElement): void {
  const layout = new Layout(root, config.refWidth);
  const doc = new Y.Doc();
  try {
    Y.applyUpdate(doc, decode(JSON.parse(snapshot.textContent || '""') as string));
  } catch (err) {
    console.error("jupyterspot: unreadable board snapshot", err);
  }
  const space = new Space(layout, root);
  const renderer = new Renderer(space, root);
  renderer.margin = 1e6; // every shape in the DOM: a file is read, printed, searched
  const shapes = doc.getMap(ROOT);
  shapes.forEach((m, id) => renderer.update(id, readShape(id, m)));
  const draw = (): void => {
    if (!renderer.layer.isConnected) root.appendChild(renderer.layer);
    space.measure();
    renderer.relayout();
  };
  layout.onChange(draw);
  draw();
  new Detached(shapes, layout, () => undefined);
  if (root.querySelector(".jupyterspot-plotly, .jupyterspot-vega")) {
    void hydrateFigures(root).then(() => layout.changed());
  }
  document.documentElement.setAttribute("data-jupyterspot-offline", "");
}
