// What a gesture works with (the board hands it in), what it returns, and the helpers the
// gestures share.

import { round1 } from "../geometry";
import { topmostAt } from "../hit";
import { KIND, type SizeList } from "../kinds";
import type { BoardModel } from "../model";
import type { Renderer } from "../render";
import { newId, type Shape, type ShapeType } from "../shapes";
import type { Space } from "../space";
import { sizeOf } from "../tools";

export interface ToolContext {
  model: BoardModel;
  renderer: Renderer;
  space: Space;
  clientId: number;
  color(): string;
  sizeIndex(): number;
  author(): string;
  selection: Set<string>;
  selectionChanged(): void;
  edit(id: string, fresh?: boolean): void;
  laser(p: { x: number; y: number } | null): void;
  /** The ask tool tapped a point: type the question there (js/viewer/ask/box.ts). */
  ask(shape: Shape): void;
  /** A gesture starts: finish editing any text. */
  blur(): void;
  /**
   * A gesture starts: bring the cell geometry up to date now. A layout change is applied on the
   * next animation frame, but pointer events of that frame are dispatched before it: without this
   * a stroke begun right after a layout change (a rotation, a zoom, an image that loaded; frames
   * are far apart under CPU load) was anchored and scaled with the old geometry.
   */
  measure(): void;
}

/** A root-space point. */
export interface Pt {
  x: number;
  y: number;
}

/** A gesture in progress, from pointer down to up. */
export interface Op {
  move(p: Pt, e: PointerEvent): void;
  end(): void;
  /** A second finger arrived: undo what this gesture did so far. */
  cancel(): void;
}

/** Starts the gesture of a tool at a pointer down (null: nothing to do). */
export type Gesture = (ctx: ToolContext, p: Pt, e: PointerEvent) => Op | null;

/** A gesture that acts only on a tap: `run` at pointer up when the pointer moved at most 8 screen
 * px from `p`; a drag does nothing (it was meant as a scroll or a slip). */
export function onTap(ctx: ToolContext, p: Pt, run: () => void): Op {
  let last = p;
  return {
    move: (q) => {
      last = q;
    },
    end: () => {
      if (Math.hypot(last.x - p.x, last.y - p.y) * ctx.space.scale <= 8) run();
    },
    cancel: () => undefined,
  };
}

/** The current palette size of a size list. */
export function paletteSize(ctx: ToolContext, list: SizeList): number {
  return sizeOf(list, ctx.sizeIndex());
}

/** A new shape of kind `t` anchored where `p` lies, in the palette's color and size. */
export function newShape(ctx: ToolContext, t: ShapeType, p: Pt): Shape | null {
  const a = ctx.space.anchorAt(p.x, p.y);
  if (!a) return null;
  return {
    id: newId(ctx.clientId),
    t,
    cell: a.cell,
    ci: a.ci,
    x: round1(a.x),
    y: round1(a.y),
    pts: new Float32Array(0),
    d: 2,
    w: 0,
    h: 0,
    c: ctx.color(),
    s: paletteSize(ctx, KIND[t].size),
    text: "",
    by: ctx.author(),
    at: Date.now(),
    ans: 0,
  };
}

/** Topmost shape within `tolerance` screen px of a root-space point. */
export function hitAt(
  ctx: ToolContext,
  p: Pt,
  tolerance: number,
  which?: (s: Shape) => boolean,
): Shape | null {
  return topmostAt(ctx.renderer, p, tolerance / ctx.space.scale, which);
}

/** Text and sticky notes: the shapes whose text is typed. */
export const editable = (s: Shape): boolean => KIND[s.t].editor !== undefined;

/** Re-anchor a moved shape to the cell its anchor point now lies in. */
export function reanchor(ctx: ToolContext, rootX: number, rootY: number): Record<string, number | string> {
  const a = ctx.space.anchorAt(rootX, rootY);
  if (!a) return {};
  return { cell: a.cell, ci: a.ci, x: round1(a.x), y: round1(a.y) };
}

/** A shape and the root-space position of its anchor point. */
export interface Origin {
  s: Shape;
  x: number;
  y: number;
}

/** Where the selected shapes are when a gesture starts. */
export function selectedOrigins(ctx: ToolContext): Map<string, Origin> {
  const start = new Map<string, Origin>();
  for (const id of ctx.selection) {
    const s = ctx.renderer.shape(id);
    const o = s && ctx.renderer.originOf(s);
    if (s && o) start.set(id, { s, x: o.x, y: o.y });
  }
  return start;
}
