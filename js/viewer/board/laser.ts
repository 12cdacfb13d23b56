// Laser pointer: ephemeral, never in the document. Each client publishes awareness
// `laser: {cell, x, y}` (anchored like the cursor) or null; everyone, the pointer included, draws a
// short trail from the positions received, fading out within a second.

import type { Awareness } from "y-protocols/awareness";
import { safeColor } from "../identity";
import { svg } from "../dom";
import type { Space } from "./space";

const TRAIL_MS = 900;

interface Trail {
  color: string;
  pts: { x: number; y: number; t: number }[];
  active: boolean;
  at: { x: number; y: number } | null;
  path: SVGPathElement[];
  head: SVGCircleElement;
}

export class Lasers {
  private trails = new Map<number, Trail>();
  private frame = 0;
  private pending: { cell: string; x: number; y: number } | null | undefined = undefined;
  private sendFrame = 0;

  constructor(
    private readonly awareness: Awareness,
    private readonly space: Space,
    private readonly group: SVGGElement,
  ) {
    awareness.on(
      "change",
      ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
        for (const id of removed) this.drop(id);
        for (const id of [...added, ...updated]) this.receive(id);
      },
    );
  }

  /** Publish this client's laser point (root space), or null; at most once per frame. */
  point(p: { x: number; y: number } | null): void {
    const a = p && this.space.anchorAt(p.x, p.y);
    const r = (v: number): number => Math.round(v * 10) / 10;
    this.pending = a ? { cell: a.cell, x: r(a.x), y: r(a.y) } : null;
    if (this.sendFrame) return;
    this.sendFrame = requestAnimationFrame(() => {
      this.sendFrame = 0;
      if (this.pending === undefined || this.awareness.getLocalState() === null) return;
      this.awareness.setLocalStateField("laser", this.pending);
      this.pending = undefined;
    });
  }

  private receive(id: number): void {
    const state = this.awareness.getStates().get(id) as Record<string, unknown> | undefined;
    const laser = state?.laser as { cell?: unknown; x?: unknown; y?: unknown } | null | undefined;
    let trail = this.trails.get(id);
    if (
      !laser ||
      typeof laser.cell !== "string" ||
      typeof laser.x !== "number" ||
      typeof laser.y !== "number"
    ) {
      if (trail) trail.active = false;
      this.schedule();
      return;
    }
    const origin = this.space.cellOrigin(laser.cell, -1);
    if (!origin || origin.orphan) return;
    if (!trail) {
      const path = [0, 1, 2, 3].map((i) =>
        svg("path", { class: "jupyterspot-laser", "stroke-opacity": String(0.25 * (i + 1)) }),
      );
      const head = svg("circle", { class: "jupyterspot-laser-head" });
      trail = { color: "", pts: [], active: true, at: null, path, head };
      this.group.append(...path, head);
      this.trails.set(id, trail);
    }
    const user = state?.user as { color?: unknown } | undefined;
    const color = safeColor(user?.color);
    if (color !== trail.color) {
      trail.color = color;
      for (const p of trail.path) p.setAttribute("stroke", color);
      trail.head.setAttribute("fill", color);
    }
    trail.active = true;
    trail.at = { x: origin.x + laser.x, y: origin.y + laser.y };
    trail.pts.push({ ...trail.at, t: performance.now() });
    this.schedule();
  }

  private drop(id: number): void {
    const trail = this.trails.get(id);
    if (!trail) return;
    for (const p of trail.path) p.remove();
    trail.head.remove();
    this.trails.delete(id);
  }

  private schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.draw());
  }

  private draw(): void {
    this.frame = 0;
    const now = performance.now();
    const s = this.space.scale || 1;
    let animating = false;
    for (const [id, trail] of this.trails) {
      trail.pts = trail.pts.filter((p) => now - p.t < TRAIL_MS);
      const last = trail.at;
      if (!trail.pts.length && !trail.active) {
        this.drop(id);
        continue;
      }
      // Four segments of decreasing age: older is fainter.
      for (let q = 0; q < 4; q++) {
        const from = now - TRAIL_MS + (q * TRAIL_MS) / 4;
        const to = from + TRAIL_MS / 4;
        let d = "";
        for (let i = 0; i < trail.pts.length; i++) {
          const p = trail.pts[i];
          const next = trail.pts[i + 1];
          if (p.t >= to || (next && next.t < from)) continue;
          d += `${d ? "L" : "M"}${p.x.toFixed(1)} ${p.y.toFixed(1)}`;
        }
        trail.path[q].setAttribute("d", d);
        trail.path[q].setAttribute("stroke-width", ((2 + q) / s).toFixed(2));
      }
      if (trail.active && last) {
        trail.head.setAttribute("cx", last.x.toFixed(1));
        trail.head.setAttribute("cy", last.y.toFixed(1));
        trail.head.setAttribute("r", (5 / s).toFixed(2));
        trail.head.removeAttribute("visibility");
      } else {
        trail.head.setAttribute("visibility", "hidden");
      }
      if (trail.pts.length) animating = true;
    }
    if (animating) this.schedule();
  }
}
