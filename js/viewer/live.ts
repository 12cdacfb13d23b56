// Live content updates (docs/protocol.md, "Content updates") and the Export link: when
// control.version differs from the page's, fetch x/cells?since=<ours> and swap the cells in place
// (unchanged cells keep their DOM), keeping this page's top cell (or following the leader). Also
// the "detached notes" list (detached.ts). An exported file runs offline.ts instead.

import type * as Y from "yjs";
import type { Board } from "./board";
import { ROOT } from "./board/schema";
import { readToken } from "./config";
import { Detached } from "./detached";
import { fetchBlob } from "./e2e/blob";
import { h } from "./dom";
import { hydrateFigures } from "./figures";
import type { SealedImages } from "./e2e/images";
import type { Follow } from "./follow";
import { cellIdOf, type Layout } from "./layout";
import type { TopBar } from "./ui";

interface CellsReply {
  version: string;
  cells?: { id: string; html: string | null }[];
  reload?: boolean;
}

/** The viewer's own layers: MathJax must never read what participants typed there. */
const NO_MATH = ".jupyterspot-board, .jupyterspot-detached, .jupyterspot-nomath";

export interface LiveOptions {
  /** The content version the page was rendered at. */
  version: string;
  /** The notebook's name (export file names). */
  title: string;
  /** An encrypted share's key and room: x/cells and x/export answer sealed blobs. */
  seal: { key: Uint8Array; room: string } | null;
  /** An encrypted share's pictures, opened as they come into view (new cells' too). */
  images: SealedImages | null;
  controlDoc: Y.Doc;
  boardDoc: Y.Doc;
  layout: Layout;
  bar: TopBar;
  board: Board;
  follow: Follow;
  /** After a swap, with the cells that came new (running.ts marks the running cell in them). */
  onSwapped?: (made: readonly HTMLElement[]) => void;
}

/** Scripts inserted with innerHTML do not run: re-create them (outputs' JS, like on load), in
 *  the parser's order: a classic `<script src>` runs before the scripts after it (an output's
 *  `<script src=".../plotly.js">` then `Plotly.newPlot(...)`), where a created script with a
 *  src would otherwise load async and run last. Resolves when all have run. */
let activation: Promise<void> = Promise.resolve();

async function activate(el: Element): Promise<void> {
  for (const old of Array.from(el.querySelectorAll("script"))) {
    const s = document.createElement("script");
    for (const a of Array.from(old.attributes)) s.setAttribute(a.name, a.value);
    s.text = old.text;
    const classic = !s.type || /^(text|application)\/(javascript|ecmascript)$/i.test(s.type);
    if (!s.src || !classic || old.hasAttribute("async") || old.hasAttribute("defer")) {
      old.replaceWith(s);
      continue;
    }
    s.async = false;
    const ran = new Promise<void>((resolve) => {
      s.onload = s.onerror = () => resolve();
    });
    old.replaceWith(s);
    await ran;
  }
}

/** Save `body` as a file named `name` (a Blob URL: the bytes never leave the page again). */
function download(body: Uint8Array, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([body as Uint8Array<ArrayBuffer>], { type }));
  const a = h("a", { href: url, download: name, hidden: "" });
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Revoked later: some browsers start reading the URL only after click() returned.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export class Live {
  version: string;
  private busy = false;
  private control: Y.Map<unknown>;

  constructor(private readonly o: LiveOptions) {
    this.version = o.version;
    this.control = o.controlDoc.getMap("control");
    this.control.observe(() => void this.check());
    const { board } = o;
    new Detached(o.boardDoc.getMap(ROOT), o.layout, (id) => {
      const box = board.renderer.boxOf(id);
      if (box) window.scrollTo({ top: board.space.toClient(0, box.y0).y + window.scrollY - 80 });
    });
    o.bar.lead.appendChild(this.exportButton());
    void this.check();
  }

  /** A plain link to x/export, or on an encrypted share a button that fetches, opens and saves
   * it (the sealed answer has no file name: a name would tell the tunnel the title). */
  private exportButton(): HTMLElement {
    const title = "Download this notebook with every drawing (opens offline)";
    const href = `x/export?token=${encodeURIComponent(readToken())}`;
    const attrs = { class: "jupyterspot-lead-btn", "data-testid": "export", title };
    const seal = this.o.seal;
    if (!seal) return h("a", { ...attrs, href, download: "" }, "Export");
    const button = h("button", { ...attrs, type: "button" }, "Export");
    const name = `${this.o.title || "notebook"}-notes.html`;
    button.addEventListener("click", () => {
      button.disabled = true;
      fetchBlob(href, seal.key, seal.room, "export", { cache: "no-store" })
        .then((body) => download(body, name, "text/html"))
        .catch((err) => {
          console.warn("jupyterspot: export failed", err);
          button.title = `Export failed (${String(err)}); click to try again`;
        })
        .finally(() => (button.disabled = false));
    });
    return button;
  }

  /** x/cells?since=<ours>: JSON, sealed (kind "cells") on an encrypted share. */
  private async fetchCells(query: string): Promise<CellsReply> {
    const url = `x/cells?${query}`;
    const seal = this.o.seal;
    if (seal) {
      const body = await fetchBlob(url, seal.key, seal.room, "cells", { cache: "no-store" });
      return JSON.parse(new TextDecoder().decode(body)) as CellsReply;
    }
    const res = await fetch(url, { cache: "no-store" });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return (await res.json()) as CellsReply;
  }

  async check(): Promise<void> {
    const want = this.control.get("version");
    if (this.busy || typeof want !== "string" || !want || want === this.version) return;
    this.busy = true;
    try {
      const q = `token=${encodeURIComponent(readToken())}&since=${encodeURIComponent(this.version)}`;
      const reply = await this.fetchCells(q);
      if (reply.reload || !reply.cells) location.reload();
      else if (reply.version === this.control.get("version")) {
        this.apply(reply.cells);
        this.version = reply.version;
      } else {
        // A step behind the control document (soon there), or an answer for another version:
        // never applied, so an old answer replayed (by a tunnel, to an encrypted share: the
        // control document's version comes sealed and bound to this session) rolls nothing back.
        await new Promise((r) => setTimeout(r, 300));
      }
    } catch (err) {
      console.warn("jupyterspot: content update failed", err);
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      this.busy = false;
    }
    void this.check(); // the version may have moved on meanwhile
  }

  private apply(cells: { id: string; html: string | null }[]): void {
    const { layout, follow } = this.o;
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
      // one cell after another, as the parser would: cell B's inline code may need the library
      // cell A's <script src> is still loading
      activation = activation.then(() => activate(el)).catch(() => undefined);
      this.o.images?.watch(el);
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
    this.o.onSwapped?.(made);
    layout.changed();
    requestAnimationFrame(() => (html.style.overflowAnchor = ""));
  }
}
