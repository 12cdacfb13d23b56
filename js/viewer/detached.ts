// The "Detached notes" list: shapes whose cell left the notebook (drawn faded at its index).

import type * as Y from "yjs";
import { readShape, type Shape } from "./board/shapes";
import { h } from "./dom";
import { frameTask } from "./frame";
import { cellIdOf, type Layout } from "./layout";

export class Detached {
  readonly el = h("details", { class: "jupyterspot-detached", "data-testid": "detached-notes" });
  private list = h("ol");
  private sum = h("summary");
  private readonly task = frameTask(() => this.render());

  constructor(
    private readonly shapes: Y.Map<unknown>,
    private readonly layout: Layout,
    private readonly jump: (id: string) => void,
  ) {
    this.el.append(this.sum, this.list);
    document.body.appendChild(this.el);
    shapes.observeDeep(() => this.task.schedule());
    layout.onChange(() => this.task.schedule());
    this.render();
  }

  render(): void {
    const ids = new Set(this.layout.cells().map(cellIdOf));
    const gone: Shape[] = [];
    this.shapes.forEach((m, id) => {
      const s = readShape(id, m);
      if (s && !ids.has(s.cell)) gone.push(s);
    });
    this.el.hidden = gone.length === 0;
    this.sum.textContent = `Detached notes (${gone.length})`;
    this.list.replaceChildren(
      ...gone.map((s) => {
        const what = s.text ? `“${s.text.slice(0, 80)}”` : s.t;
        const li = h("li", {}, `${what}${s.by ? ` · ${s.by}` : ""} · was in cell ${s.ci + 1}`);
        li.dataset.detachedShapeId = s.id;
        li.addEventListener("click", () => this.jump(s.id));
        return li;
      }),
    );
  }
}
