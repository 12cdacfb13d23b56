// The collaborative annotation layer: shapes in the board doc's Y.Map("shapes") (shapes.ts,
// schema.ts and docs/protocol.md "### board"), rendered in an SVG/HTML layer inside
// #jupyterspot-root (render.ts; what differs per kind of shape: kinds/), drawn with the tools of a
// small palette (toolbar.ts, tools.ts; the pointer: input.ts, one gesture a file in gestures/),
// undone per person (model.ts), plus an ephemeral laser pointer (laser.ts). This file wires them
// together and owns the selection and the keyboard shortcuts.

import type { Awareness } from "y-protocols/awareness";
import type * as Y from "yjs";
import { isEditable, svg } from "../dom";
import { frameTask } from "../frame";
import { cellIdOf, type Layout } from "../layout";
import { Input } from "./input";
import { Lasers } from "./laser";
import { BoardModel } from "./model";
import { NoteEditor } from "./notes";
import { Renderer } from "./render";
import { newId, readShape, scriptedFields, type Shape } from "./shapes";
import { Space } from "./space";
import { INKS, TOOL_DEFS, Toolbar } from "./toolbar";
import { DRAWING_TOOLS, type Tool } from "./tools";

export type { Tool } from "./tools";

export interface BoardOptions {
  doc: Y.Doc;
  controlDoc: Y.Doc;
  awareness: Awareness;
  layout: Layout;
  root: HTMLElement;
  role: "guest" | "host";
}

const KEYS: Record<string, Tool> = {};
for (const def of TOOL_DEFS) if (def.tool) KEYS[def.key.toLowerCase()] = def.tool;

export class Board {
  readonly model: BoardModel;
  readonly space: Space;
  readonly renderer: Renderer;
  readonly input: Input;
  readonly toolbar: Toolbar;
  readonly editor: NoteEditor;
  readonly lasers: Lasers;
  readonly selection = new Set<string>();
  color = INKS[1];
  size = 1;
  canDraw = true;
  /** The ask tool tapped a point: the question box opens there (js/viewer/ask/). */
  onAsk: (shape: Shape) => void = () => undefined;
  private dirty = new Set<string>();
  /**
   * Doc changes are applied on the next animation frame, or after 100 ms if no frame comes (a
   * busy or throttled compositor must not hold back what others drew).
   */
  private readonly flushTask = frameTask(() => this.flush(), 100);
  private selectionEls: SVGElement[] = [];
  /** performance.now() when the shapes present at load were first rendered. */
  firstRender = 0;

  constructor(private readonly opts: BoardOptions) {
    const { doc, awareness, layout, root } = opts;
    this.model = new BoardModel(doc);
    this.space = new Space(layout, root);
    this.renderer = new Renderer(this.space, root);
    this.editor = new NoteEditor(this.model, this.renderer, this.space);
    this.input = new Input({
      model: this.model,
      renderer: this.renderer,
      space: this.space,
      clientId: doc.clientID,
      color: () => this.color,
      sizeIndex: () => this.size,
      author: () => {
        const user = (awareness.getLocalState() as { user?: { name?: unknown } } | null)?.user;
        return typeof user?.name === "string" ? user.name.slice(0, 60) : "";
      },
      selection: this.selection,
      selectionChanged: () => this.drawSelection(),
      edit: (id, fresh) => this.editor.open(id, fresh),
      ask: (shape) => this.onAsk(shape),
      laser: (p) => this.lasers.point(p),
      blur: () => this.editor.close(),
      measure: () => this.measure(),
    });
    this.lasers = new Lasers(awareness, this.space, this.renderer.overlay);
    this.toolbar = new Toolbar({
      tool: (t) => this.setTool(t),
      undo: () => this.undo(),
      redo: () => this.redo(),
      color: (c) => this.setStyle(c, this.size),
      size: (i) => this.setStyle(this.color, i),
      contentLeft: () => layout.root.getBoundingClientRect().left,
    });
    layout.onChange(() => this.toolbar.orient()); // the reading zoom fills the margin
    this.setStyle(this.color, this.size);
    this.toolbar.setTool(null);

    const um = this.model.undo;
    const history = (): void =>
      this.toolbar.setHistory(this.canDraw && um.canUndo(), this.canDraw && um.canRedo());
    for (const ev of ["stack-item-added", "stack-item-popped", "stack-cleared"] as const) {
      um.on(ev, history);
    }
    history();

    this.model.shapes.observeDeep((events) => {
      for (const ev of events) {
        if (ev.target === this.model.shapes) {
          for (const k of (ev as Y.YMapEvent<unknown>).keysChanged) this.dirty.add(k);
        } else if (typeof ev.path[0] === "string") this.dirty.add(ev.path[0]);
      }
      this.schedule();
    });
    this.model.shapes.forEach((_m, id) => this.dirty.add(id));

    layout.onChange(() => {
      // The page content may have been replaced: the layer belongs in the root.
      if (!this.renderer.layer.isConnected) root.appendChild(this.renderer.layer);
      this.space.measure();
      this.relayout();
    });
    let scrollFrame = 0;
    window.addEventListener(
      "scroll",
      () => {
        if (scrollFrame) return;
        scrollFrame = requestAnimationFrame(() => {
          scrollFrame = 0;
          this.renderer.cull();
        });
      },
      // capture: also the body's sideways scroll in reading zoom (layout.ts), which never
      // reaches the window otherwise
      { passive: true, capture: true },
    );

    const control = opts.controlDoc.getMap("control");
    const policy = (): void => {
      this.canDraw = opts.role === "host" || control.get("drawPolicy") !== "host";
      this.toolbar.setDrawing(this.canDraw, DRAWING_TOOLS);
      if (!this.canDraw && this.input.tool && DRAWING_TOOLS.includes(this.input.tool)) {
        this.setTool(null);
      }
      if (!this.canDraw) this.editor.close();
      history();
    };
    control.observe(policy);
    policy();

    document.addEventListener("keydown", (e) => this.key(e));
    // Printing the page prints the drawings: all of them, not only those near the viewport.
    let margin = this.renderer.margin;
    window.addEventListener("beforeprint", () => {
      margin = this.renderer.margin;
      this.renderer.margin = 1e6;
      this.renderer.cull();
    });
    window.addEventListener("afterprint", () => {
      this.renderer.margin = margin;
      this.renderer.cull();
    });
    this.schedule();
  }

  private relayout(): void {
    this.renderer.relayout();
    this.drawSelection();
    this.showOrphans();
  }

  /** Where the cells are, as the board currently believes (scale, root origin, cell origins). */
  private geometry(): string {
    const s = this.space;
    const o = s.toClient(0, 0);
    const parts = [s.scale, o.x + window.scrollX + this.opts.layout.panX, o.y + window.scrollY, s.width];
    this.opts.layout.cells().forEach((el, i) => {
      const c = s.cellOrigin(cellIdOf(el), i);
      parts.push(c ? c.x : NaN, c ? c.y : NaN);
    });
    return parts.join(",");
  }

  /**
   * Re-measure now (a gesture starts): layout changes are otherwise applied on the next frame,
   * after the pointer events of that frame. Re-places the shapes only when something moved.
   */
  measure(): void {
    const before = this.geometry();
    this.space.measure();
    if (this.geometry() !== before) this.relayout();
  }

  private key(e: KeyboardEvent): void {
    if (e.defaultPrevented || isEditable(e.target)) return;
    const k = e.key.toLowerCase();
    const mod = e.ctrlKey || e.metaKey;
    if (mod && !e.altKey && (k === "z" || k === "y")) {
      if (!this.canDraw) return;
      e.preventDefault();
      if (k === "y" || e.shiftKey) this.redo();
      else this.undo();
      return;
    }
    if (mod || e.altKey) return;
    if (e.key === "Escape") {
      // Dropping a selection or a tool is all this Esc does: not also stop following (follow/).
      if (this.selection.size || this.input.tool) e.preventDefault();
      if (this.selection.size) {
        this.selection.clear();
        this.drawSelection();
      }
      if (this.input.tool) this.setTool(null);
      this.toolbar.togglePopover(false);
      return;
    }
    if ((e.key === "Delete" || e.key === "Backspace") && this.selection.size && this.canDraw) {
      e.preventDefault();
      this.input.settle();
      this.model.begin();
      this.model.remove(this.selection);
      this.model.begin();
      this.selection.clear();
      this.drawSelection();
      return;
    }
    if (k === "[" || k === "]") {
      this.setStyle(this.color, Math.max(0, Math.min(2, this.size + (k === "]" ? 1 : -1))));
      return;
    }
    if (k === "c") {
      this.toolbar.togglePopover();
      return;
    }
    const tool = KEYS[k];
    if (tool) {
      e.preventDefault();
      this.setTool(tool);
    }
  }

  get tool(): Tool | null {
    return this.input.tool;
  }

  /** Choose a tool; null = browse (the notebook gets every pointer event). */
  setTool(tool: Tool | null): void {
    if (tool && !this.canDraw && DRAWING_TOOLS.includes(tool)) return;
    this.editor.close();
    this.input.setTool(tool);
    this.toolbar.setTool(tool);
    document.documentElement.toggleAttribute("data-jupyterspot-tool", tool !== null);
    if (tool !== "select" && this.selection.size) {
      this.selection.clear();
      this.drawSelection();
    }
  }

  setStyle(color: string, size: number): void {
    this.color = color;
    this.size = size;
    this.toolbar.setStyle(color, size);
    // Restyle the selection, like any drawing app.
    if (this.selection.size && this.canDraw) {
      this.input.settle();
      this.model.begin();
      this.model.transact(() => {
        for (const id of this.selection) this.model.set(id, { c: color });
      });
      this.model.begin();
    }
  }

  /**
   * Undo this person's last gesture. A gesture still in progress (the pointer is down: Ctrl+Z
   * mid-stroke, a second finger on the button) is ended first, so it is the step undone, whole,
   * and nothing of it is written or drawn afterwards.
   */
  undo(): void {
    this.input.settle();
    this.editor.close();
    this.model.begin();
    this.model.undo.undo();
  }

  redo(): void {
    this.input.settle();
    this.editor.close();
    this.model.begin();
    this.model.undo.redo();
  }

  /** Add a shape programmatically (scripts, benchmarks): `pts` as plain numbers. */
  add(fields: Partial<Omit<Shape, "pts">> & { pts?: ArrayLike<number>; t: Shape["t"] }): string {
    const id = fields.id ?? newId(this.opts.doc.clientID);
    // Only documented fields within the schema (the server refuses anything else).
    const stored = scriptedFields(fields);
    stored.at ??= Date.now();
    this.input.settle();
    this.model.begin();
    this.model.add(id, stored);
    this.model.begin();
    return id;
  }

  /** All shapes in the doc (validated copies). */
  shapes(): Shape[] {
    return this.model.all();
  }

  private schedule(): void {
    this.flushTask.schedule();
  }

  private flush(): void {
    const shapes = this.model.shapes;
    for (const id of this.dirty) {
      this.renderer.update(id, readShape(id, shapes.get(id)));
      if (!shapes.has(id)) this.selection.delete(id);
    }
    const any = this.dirty.size > 0;
    this.dirty.clear();
    this.renderer.cull();
    if (any) {
      this.drawSelection();
      this.showOrphans();
    }
    if (!this.firstRender) this.firstRender = performance.now();
  }

  private showOrphans(): void {
    if (!this.canDraw) return;
    let n = 0;
    for (const { shape } of this.renderer.placed()) if (!this.space.hasCell(shape.cell)) n++;
    this.toolbar.say(
      n
        ? `${n} annotation${n > 1 ? "s" : ""} belong to cells that changed or left the notebook:` +
            " kept, shown faded where their cell used to be"
        : "",
      `${n} faded`,
    );
  }

  private drawSelection(): void {
    for (const el of this.selectionEls) el.remove();
    this.selectionEls = [];
    for (const el of Array.from(this.renderer.layer.querySelectorAll(".jupyterspot-selected"))) {
      el.classList.remove("jupyterspot-selected");
    }
    const box = this.renderer.boxAround(this.selection);
    if (!box) return;
    const s = this.space.scale || 1;
    const pad = 4 / s;
    const rect = svg("rect", {
      class: "jupyterspot-selection",
      x: box.x0 - pad,
      y: box.y0 - pad,
      width: box.x1 - box.x0 + 2 * pad,
      height: box.y1 - box.y0 + 2 * pad,
      "stroke-width": 1.5 / s,
    });
    const hs = 10 / s;
    const handle = svg("rect", {
      class: "jupyterspot-handle",
      "data-testid": "resize-handle",
      x: box.x1 - hs / 2,
      y: box.y1 - hs / 2,
      width: hs,
      height: hs,
      "stroke-width": 1.5 / s,
    });
    for (const id of this.selection) {
      this.renderer.elementOf(id)?.classList.add("jupyterspot-selected");
    }
    this.selectionEls = [rect, handle];
    this.renderer.overlay.append(rect, handle);
  }
}

export function startBoard(opts: BoardOptions): Board {
  return new Board(opts);
}
