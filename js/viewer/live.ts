// Issue 6 in the page: live content updates, the "detached notes" list, export, and the offline
// mode of an exported file (docs/protocol.md, "Content updates" and "Export").
//
// Online: when control.version differs from the page's, fetch x/cells?since=<ours> and swap the
// cells in place (unchanged cells keep their DOM), keeping this page's top cell (or following the
// leader). Offline (an exported file: config.offline): no connection; the board snapshot embedded
// in the page is drawn with the viewer's own renderer, every shape mounted.

import * as Y from "yjs";
import type { JupyterspotHandle } from "./main";
import { readConfig, readToken } from "./config";
import { hydrateFigures } from "./figures";
import { cellIdOf, Layout } from "./layout";
import { Renderer } from "./board/render";
import { readShape, type Shape } from "./board/shapes";
import { Space } from "./board/space";

interface CellsReply {
  version: string;
  cells?: { id: string; html: string | null }[];
  reload?: boolean;
}

/** The viewer's own layers: MathJax must never read what participants typed there. */
const NO_MATH = ".jupyterspot-board, .jupyterspot-detached, .jupyterspot-nomath";

const rootOf = (): HTMLElement =>
  document.getElementById("jupyterspot-root") ?? document.querySelector("main") ?? document.body;

/** The "Detached notes" list: shapes whose cell left the notebook (drawn faded at its index). */
class Detached {
  readonly el = document.createElement("details");
  private list = document.createElement("ol");
  private sum = document.createElement("summary");
  private frame = 0;

  constructor(
    private readonly shapes: Y.Map<unknown>,
    private readonly layout: Layout,
    private readonly jump: (id: string) => void,
  ) {
    this.el.className = "jupyterspot-detached";
    this.el.dataset.testid = "detached-notes";
    this.el.append(this.sum, this.list);
    document.body.appendChild(this.el);
    shapes.observeDeep(() => this.schedule());
    layout.onChange(() => this.schedule());
    this.render();
  }

  schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.render());
  }

  render(): void {
    this.frame = 0;
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
        const li = document.createElement("li");
        li.dataset.detachedShapeId = s.id;
        const what = s.text ? `“${s.text.slice(0, 80)}”` : s.t;
        li.textContent = `${what}${s.by ? ` · ${s.by}` : ""} · was in cell ${s.ci + 1}`;
        li.addEventListener("click", () => this.jump(s.id));
        return li;
      }),
    );
  }
}

function decode(b64: string): Uint8Array {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/** Scripts inserted with innerHTML do not run: re-create them (outputs' JS, like on load). */
function activate(el: Element): void {
  for (const old of Array.from(el.querySelectorAll("script"))) {
    const s = document.createElement("script");
    for (const a of Array.from(old.attributes)) s.setAttribute(a.name, a.value);
    s.text = old.text;
    old.replaceWith(s);
  }
}

class Live {
  version: string;
  private busy = false;
  private control: Y.Map<unknown>;

  constructor(private readonly h: JupyterspotHandle) {
    this.version = h.config.version;
    this.control = h.controlDoc.getMap("control");
    this.control.observe(() => void this.check());
    const renderer = h.board.renderer;
    new Detached(h.boardDoc.getMap("shapes"), h.layout, (id) => {
      const box = renderer.boxOf(id);
      if (box) window.scrollTo({ top: h.board.space.toClient(0, box.y0).y + window.scrollY - 80 });
    });
    const a = document.createElement("a");
    a.className = "jupyterspot-lead-btn";
    a.dataset.testid = "export";
    a.textContent = "Export";
    a.title = "Download this notebook with every drawing (opens offline)";
    a.href = `x/export?token=${encodeURIComponent(readToken())}`;
    a.download = "";
    h.bar.lead.appendChild(a);
    void this.check();
  }

  async check(): Promise<void> {
    const want = this.control.get("version");
    if (this.busy || typeof want !== "string" || !want || want === this.version) return;
    this.busy = true;
    try {
      const q = `token=${encodeURIComponent(readToken())}&since=${encodeURIComponent(this.version)}`;
      const res = await fetch(`x/cells?${q}`, { cache: "no-store" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const reply = (await res.json()) as CellsReply;
      if (reply.reload || !reply.cells) location.reload();
      else if (reply.version !== this.version) this.apply(reply.cells);
      else await new Promise((r) => setTimeout(r, 300)); // the server is a step behind: soon
      this.version = reply.version;
    } catch (err) {
      console.warn("jupyterspot: content update failed", err);
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      this.busy = false;
    }
    void this.check(); // the version may have moved on meanwhile
  }

  private apply(cells: { id: string; html: string | null }[]): void {
    const { layout, follow } = this.h;
    const root = layout.root;
    const top = layout.topVisible();
    const old = new Map<string, HTMLElement>();
    for (const el of layout.cells()) old.set(cellIdOf(el), el);
    const next: HTMLElement[] = [];
    const made: HTMLElement[] = [];
    const tpl = document.createElement("template");
    for (const c of cells) {
      let el = c.html === null ? old.get(c.id) : undefined;
      if (c.html !== null) {
        tpl.innerHTML = c.html;
        el = tpl.content.firstElementChild as HTMLElement | undefined;
        if (el) made.push(el);
      }
      if (!el) return location.reload(); // a cell we should have and don't: start over
      next.push(el);
    }
    // No scroll anchoring while cells change: we put the page back ourselves, by cell.
    const html = document.documentElement;
    html.style.overflowAnchor = "none";
    const marker = document.createComment("");
    const first = layout.cells()[0];
    const parent = first?.parentNode ?? root; // the cells' container (the root in lab pages)
    parent.insertBefore(marker, first ?? root.firstChild);
    const keep = new Set(next);
    for (const el of old.values()) if (!keep.has(el)) el.remove();
    let ref: Node = marker;
    for (const el of next) {
      let n = ref.nextSibling;
      while (n && n.nodeType !== 1) n = n.nextSibling;
      if (n !== el) parent.insertBefore(el, ref.nextSibling);
      ref = el;
    }
    marker.remove();
    for (const el of made) {
      activate(el);
      if (el.querySelector(".jupyterspot-plotly, .jupyterspot-vega")) void hydrateFigures(el);
    }
    const mj = (window as { MathJax?: { typesetPromise?: (els: Element[]) => Promise<unknown> } })
      .MathJax;
    // Cells only, never the viewer's layers: TeX in a participant's note must stay text (the
    // page's MathJax config ignores those layers too; see templates/jupyterspot/index.html.j2).
    const cellsOnly = made.filter((el) => el.matches(".jp-Cell") && !el.closest(NO_MATH));
    if (cellsOnly.length) void mj?.typesetPromise?.(cellsOnly)?.catch(() => undefined);
    layout.refresh();
    if (top && !follow.isFollowing()) {
      // Same cell at the top; if it left, the cell now at its place.
      const id = layout.cellById(top.cell) ? top.cell : cellIdOf(next[Math.min(top.index, next.length - 1)]);
      layout.scrollToCell(id, id === top.cell ? top.offset : 0);
    }
    layout.changed();
    requestAnimationFrame(() => (html.style.overflowAnchor = ""));
  }
}

function offline(snapshot: HTMLElement): void {
  const config = readConfig();
  const root = rootOf();
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
  const shapes = doc.getMap("shapes");
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

/** The page's own block: the last one (after </main>; a notebook output can't come later). */
function block(id: string): HTMLElement | null {
  const all = document.querySelectorAll<HTMLElement>(`script[id="${id}"]`);
  return all[all.length - 1] ?? null;
}

/** Call first thing: true when this is an exported file (then nothing else must start). */
export function startLive(): boolean {
  const snapshot = block("jupyterspot-board");
  let isOffline = false;
  try {
    isOffline = (JSON.parse(block("jupyterspot-config")?.textContent || "{}") as { offline?: unknown })
      .offline === true;
  } catch {
    isOffline = false;
  }
  if (snapshot && isOffline) {
    offline(snapshot);
    return true;
  }
  queueMicrotask(() => {
    if (window.jupyterspot) new Live(window.jupyterspot);
  });
  return false;
}
