// Questions (issue 18, "Ask about this"; docs/protocol.md, kind "ask"): wires the ask tool's box
// (box.ts), the host's queue (queue.ts), the host's switch `control.questions` (the tool is
// hidden while it is false; the server refuses new questions then) and "go there": this host
// page leads (or, leading already, calls everyone back) and scrolls to the pin; the followers
// come with it. The widget's "go there" writes `control.goto` = "<seq> <shape id>": the host
// page that leads then scrolls the same way.

import type * as Y from "yjs";
import type { Board } from "../board";
import type { Shape } from "../board/shapes";
import type { Follow } from "../follow";
import { frameTask } from "../frame";
import { cellIdOf, type Layout } from "../layout";
import type { TopBar } from "../ui";
import { AskBox } from "./box";
import { QuestionQueue } from "./queue";

export interface QuestionsOptions {
  board: Board;
  bar: TopBar;
  follow: Follow;
  layout: Layout;
  controlDoc: Y.Doc;
  role: "guest" | "host";
  clientId: number;
}

/** Reference px left above a pin when going to it. */
const ABOVE = 120;

export class Questions {
  readonly box: AskBox;
  readonly queue: QuestionQueue | null = null;
  private readonly control: Y.Map<unknown>;
  private gotoSeen: number | null = null;
  private readonly drawTask = frameTask(() => this.queue?.show(this.open()), 200);

  constructor(private readonly o: QuestionsOptions) {
    this.box = new AskBox(o.board);
    // Questions off: the Q key still picks the tool, but nothing is written (the server would
    // drop it, and a dropped write leaves this page's later writes waiting on it).
    o.board.onAsk = (shape) => {
      if (this.enabled) this.box.show(shape);
    };
    this.control = o.controlDoc.getMap("control");
    if (o.role === "host") {
      this.queue = new QuestionQueue({
        goto: (s) => this.goto(s),
        answer: (s) => this.answer(s.id),
        setOpen: (on) => o.controlDoc.transact(() => this.control.set("questions", on)),
      });
      o.bar.el.insertBefore(this.queue.el, o.bar.participants);
      o.board.model.shapes.observeDeep(() => this.drawTask.schedule());
      this.drawTask.schedule();
    }
    this.control.observe(() => this.onControl());
    this.onControl();
  }

  /** Open questions, oldest first (tests: window.jupyterspot.questions). */
  open(): Shape[] {
    return this.o.board
      .shapes()
      .filter((s) => s.t === "ask" && s.ans === 0)
      .sort((a, b) => a.at - b.at);
  }

  get enabled(): boolean {
    return this.control.get("questions") !== false;
  }

  /** This host page leads and shows the pin; everyone following comes along. */
  goto(s: Shape): void {
    const { follow, layout, controlDoc } = this.o;
    if (follow.state().leader === this.o.clientId) {
      const recall = Number(this.control.get("recall") ?? 0) || 0;
      controlDoc.transact(() => this.control.set("recall", recall + 1));
    } else {
      follow.takeLead();
    }
    this.show(s);
    layout.changed();
  }

  /** Mark a question answered (hosts only: the server refuses `ans` from guests). */
  answer(id: string): void {
    const { model } = this.o.board;
    model.begin();
    model.set(id, { ans: Date.now() });
    model.begin();
  }

  private show(s: Shape): void {
    const { layout } = this.o;
    const cells = layout.cells();
    const fallback = cells[Math.min(s.ci, cells.length - 1)];
    const cell = layout.cellById(s.cell) ? s.cell : fallback ? cellIdOf(fallback) : "";
    layout.scrollToCell(cell, Math.max(0, s.y - ABOVE));
  }

  private onControl(): void {
    const on = this.enabled;
    this.o.board.toolbar.showTool("ask", on);
    if (!on && this.o.board.tool === "ask") this.o.board.setTool(null);
    if (!on) this.box.close();
    this.queue?.setSwitch(on);
    this.onGoto();
  }

  /** The widget's "go there": the leading host page goes to the pin. */
  private onGoto(): void {
    if (!this.control.has("version")) return; // not synced yet: its old value is no request
    const raw = this.control.get("goto");
    const m = typeof raw === "string" ? /^(\d+) (\S+)$/.exec(raw) : null;
    const seq = m ? Number(m[1]) : 0;
    if (this.gotoSeen === null || seq <= this.gotoSeen) {
      this.gotoSeen = Math.max(seq, this.gotoSeen ?? 0);
      return;
    }
    this.gotoSeen = seq;
    if (this.o.role !== "host" || this.control.get("leader") !== this.o.clientId || !m) return;
    const s = this.o.board.model.get(m[2]);
    if (s) this.show(s);
  }
}

export function startQuestions(o: QuestionsOptions): Questions {
  return new Questions(o);
}
