// The drawing tools: their names, which ones change the document, and the palette's three sizes
// per kind of line. What each tool does with the pointer: gestures/ (one file per gesture).

import type { SizeList } from "./kinds";

export type Tool =
  | "select"
  | "pen"
  | "highlighter"
  | "eraser"
  | "arrow"
  | "rect"
  | "ellipse"
  | "text"
  | "note"
  | "laser"
  | "ask";

/** Tools that change the document (disabled for guests when the host decides). */
export const DRAWING_TOOLS: readonly Tool[] = [
  "select",
  "pen",
  "highlighter",
  "eraser",
  "arrow",
  "rect",
  "ellipse",
  "text",
  "note",
];

export const SIZES: Record<SizeList, readonly number[]> = {
  pen: [2.5, 4.5, 9],
  hl: [12, 20, 32],
  line: [2, 3.5, 6],
  text: [16, 22, 32],
};

/** Size number `index` (0-2, clamped) of a size list. */
export function sizeOf(list: SizeList, index: number): number {
  const sizes = SIZES[list];
  return sizes[Math.max(0, Math.min(sizes.length - 1, index))];
}
