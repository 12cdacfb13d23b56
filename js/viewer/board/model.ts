// Writes to the board doc, all with this client's own transaction origin so that the per-person
// Y.UndoManager tracks exactly (and only) what this person did.

import * as Y from "yjs";
import { encodePoints } from "./points";
import { ROOT } from "./schema";
import { newShapeMap, readShape, type Shape, type ShapeFields } from "./shapes";

export class BoardModel {
  readonly shapes: Y.Map<Y.Map<unknown>>;
  /** Transaction origin of this person's edits (the only origin the undo manager tracks). */
  readonly origin = { board: "local" };
  readonly undo: Y.UndoManager;

  constructor(readonly doc: Y.Doc) {
    this.shapes = doc.getMap(ROOT);
    this.undo = new Y.UndoManager(this.shapes, {
      trackedOrigins: new Set([this.origin]),
      // One undo step per gesture: every gesture starts with `begin()`, nothing merges by time.
      captureTimeout: 2 ** 31 - 1,
    });
  }

  /** Start a new undo step (call at the start of every user gesture). */
  begin(): void {
    this.undo.stopCapturing();
  }

  transact(fn: () => void): void {
    this.doc.transact(fn, this.origin);
  }

  get(id: string): Shape | null {
    return readShape(id, this.shapes.get(id));
  }

  all(): Shape[] {
    const out: Shape[] = [];
    this.shapes.forEach((m, id) => {
      const s = readShape(id, m);
      if (s) out.push(s);
    });
    return out;
  }

  add(id: string, fields: ShapeFields): void {
    this.transact(() => this.shapes.set(id, newShapeMap(fields)));
  }

  /** Set fields of existing shapes (ignored for shapes deleted meanwhile). */
  set(id: string, fields: ShapeFields): void {
    const m = this.shapes.get(id);
    if (!(m instanceof Y.Map)) return;
    this.transact(() => {
      for (const [k, v] of Object.entries(fields)) if (m.get(k) !== v) m.set(k, v);
    });
  }

  setPoints(id: string, values: ArrayLike<number>): void {
    this.set(id, { pts: encodePoints(values) });
  }

  remove(ids: Iterable<string>): void {
    this.transact(() => {
      for (const id of ids) if (this.shapes.has(id)) this.shapes.delete(id);
    });
  }
}
