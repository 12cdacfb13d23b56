// Which gesture each tool starts at a pointer down.

import type { Tool } from "../tools";
import type { Gesture } from "./context";
import { ask } from "./ask";
import { drag } from "./drag";
import { eraser } from "./eraser";
import { laser } from "./laser";
import { place } from "./place";
import { select } from "./select";
import { stroke } from "./stroke";

export type { Op, Pt, ToolContext } from "./context";
export { editable, hitAt } from "./context";

export const GESTURES: Readonly<Record<Tool, Gesture>> = {
  select,
  pen: stroke("pen"),
  highlighter: stroke("hl"),
  eraser,
  arrow: drag("arrow"),
  rect: drag("rect"),
  ellipse: drag("ellipse"),
  text: place("text"),
  note: place("note"),
  laser,
  ask,
};
