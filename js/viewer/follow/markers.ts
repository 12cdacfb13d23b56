// Everyone's position beside the scrollbar: one marker per other person at their top cell; the
// leader's marker is marked. A click goes there (the leader's: follow again).

import type { Awareness } from "y-protocols/awareness";
import { h } from "../dom";
import { frameTask } from "../frame";
import { safeColor } from "../identity";
import type { Layout } from "../layout";
import type { PresenceState } from "../presence";
import { nameOf, pageYOf, positionOf } from "./peers";
import { cellOfText } from "./state";

export class ScrollMarkers {
  readonly el = h("div", { class: "jupyterspot-markers", "data-testid": "scroll-markers" });
  private views = new Map<number, HTMLButtonElement>();
  private readonly task = frameTask(() => this.render());

  constructor(
    private readonly awareness: Awareness,
    private readonly layout: Layout,
    private readonly leader: () => number | null,
    private readonly jumpTo: (clientId: number) => void,
  ) {
    document.body.appendChild(this.el);
  }

  schedule(): void {
    this.task.schedule();
  }

  private render(): void {
    const self = this.awareness.clientID;
    const leader = this.leader();
    const states = this.awareness.getStates() as Map<number, PresenceState>;
    const height = document.documentElement.scrollHeight || 1;
    const seen = new Set<number>();
    for (const [id, st] of states) {
      if (id === self || !st.user) continue;
      const s = positionOf(this.awareness, id);
      const y = s && pageYOf(this.layout, s);
      if (!s || y === null) continue;
      seen.add(id);
      const m = this.views.get(id) ?? this.create(id);
      const frac = Math.max(0, Math.min(1, y / height));
      m.style.top = `calc(${(frac * 100).toFixed(2)}% - 3px)`;
      m.style.setProperty("--jupyterspot-marker-color", safeColor(st.user.color));
      m.toggleAttribute("data-leads", id === leader);
      const where = cellOfText(s.index, s.count);
      const label = `${nameOf(this.awareness, id)}${id === leader ? " (leads)" : ""}${where ? ` · ${where}` : ""}`;
      if (m.title !== label) {
        m.title = label;
        m.setAttribute("aria-label", `Go to ${label}`);
      }
    }
    for (const [id, m] of this.views) {
      if (!seen.has(id)) {
        m.remove();
        this.views.delete(id);
      }
    }
  }

  private create(id: number): HTMLButtonElement {
    const m = h("button", { class: "jupyterspot-marker", type: "button", "data-marker-of": String(id) });
    m.addEventListener("click", () => this.jumpTo(id));
    this.el.appendChild(m);
    this.views.set(id, m);
    return m;
  }
}
