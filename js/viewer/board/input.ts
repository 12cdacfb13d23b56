// Pointer input for the drawing tools. While a tool is active a transparent, fixed input surface
// covers the viewport and takes the pointer (one finger / pen / mouse draws; two fingers scroll the
// page; the wheel scrolls the page because the surface itself never scrolls). In browse mode the
// surface is hidden, so every pointer event reaches the notebook. What each tool does with the
// pointer: gestures/.

import { h } from "../dom";
import { editable, GESTURES, hitAt, type Op, type Pt, type ToolContext } from "./gestures";
import type { Tool } from "./tools";

export class Input {
  readonly el: HTMLDivElement;
  tool: Tool | null = null;
  private op: Op | null = null;
  private opPointer = -1;
  private touches = new Map<number, Pt>();
  private panFrom: Pt | null = null;

  constructor(private readonly ctx: ToolContext) {
    const el = h("div", { class: "jupyterspot-board-input" });
    el.hidden = true;
    this.el = el;
    el.addEventListener("pointerdown", (e) => this.down(e));
    el.addEventListener("pointermove", (e) => this.move(e));
    el.addEventListener("pointerup", (e) => this.up(e));
    el.addEventListener("pointercancel", (e) => this.up(e));
    el.addEventListener("pointerleave", (e) => {
      if (this.tool === "laser" && e.pointerType === "mouse") ctx.laser(null);
    });
    el.addEventListener("dblclick", (e) => {
      if (this.tool !== "select") return;
      const hit = hitAt(ctx, this.point(e), 6);
      if (hit && editable(hit)) ctx.edit(hit.id);
    });
    el.addEventListener("contextmenu", (e) => e.preventDefault());
    document.body.appendChild(el);
  }

  setTool(tool: Tool | null): void {
    if (this.op) this.finish();
    if (this.tool === "laser" && tool !== "laser") this.ctx.laser(null);
    this.tool = tool;
    this.el.hidden = tool === null;
    this.el.dataset.tool = tool ?? "";
  }

  private finish(): void {
    const op = this.op;
    this.op = null;
    this.opPointer = -1;
    op?.end();
  }

  /**
   * End the gesture in progress now, as its release would (its points so far are kept). Called
   * before any write that is not part of a gesture (undo, redo, delete, restyle, a scripted add):
   * a gesture stays one undo step, and an undo never races a stroke that is still being drawn.
   */
  settle(): void {
    if (this.op) this.finish();
  }

  private point(e: { clientX: number; clientY: number }): Pt {
    return this.ctx.space.fromClient(e.clientX, e.clientY);
  }

  private mid(): Pt {
    let x = 0;
    let y = 0;
    for (const p of this.touches.values()) {
      x += p.x;
      y += p.y;
    }
    return { x: x / this.touches.size, y: y / this.touches.size };
  }

  private down(e: PointerEvent): void {
    if (!this.tool) return;
    e.preventDefault();
    this.ctx.blur();
    if (e.pointerType === "touch") {
      this.touches.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (this.touches.size >= 2) {
        // Two fingers: scroll the page, and forget the stroke the first finger started.
        if (this.op) {
          const op = this.op;
          this.op = null;
          this.opPointer = -1;
          op.cancel();
        }
        this.panFrom = this.mid();
        return;
      }
    } else if (e.button !== 0) {
      return;
    }
    if (this.op) this.finish();
    this.ctx.measure();
    try {
      this.el.setPointerCapture(e.pointerId);
    } catch {
      // synthetic pointer ids cannot be captured
    }
    this.opPointer = e.pointerId;
    this.op = GESTURES[this.tool](this.ctx, this.point(e), e);
  }

  private move(e: PointerEvent): void {
    if (e.pointerType === "touch" && this.touches.has(e.pointerId)) {
      this.touches.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (this.panFrom && this.touches.size >= 2) {
        const m = this.mid();
        this.ctx.space.layout.panBy(this.panFrom.x - m.x, this.panFrom.y - m.y);
        this.panFrom = m;
        return;
      }
    }
    if (this.op && e.pointerId === this.opPointer) {
      this.track(e);
    } else if (this.tool === "laser" && e.pointerType === "mouse") {
      this.ctx.laser(this.point(e));
    }
  }

  /** Every position the event carries (all the coalesced ones under load), in order. */
  private track(e: PointerEvent): void {
    const op = this.op;
    if (!op) return;
    const events = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
    for (const ev of events.length ? events : [e]) op.move(this.point(ev), ev);
  }

  private up(e: PointerEvent): void {
    if (e.pointerType === "touch") {
      this.touches.delete(e.pointerId);
      if (this.touches.size < 2) this.panFrom = null;
    }
    if (this.op && e.pointerId === this.opPointer) {
      // The release point is the end of the gesture (it may differ from the last move, e.g. a
      // pen lifted quickly); a cancel carries no meaningful position.
      if (e.type === "pointerup") this.track(e);
      this.finish();
    }
  }
}
