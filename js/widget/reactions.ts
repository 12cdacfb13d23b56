// The presenter's running count of reactions per cell over the last minute (issue 18), from
// the widget's `reactions` trait (session/reactions.py ReactionTally.counts). Each slot comes
// with its age when the kernel sent it; the list ages it here, so a count drops out of the
// minute without the kernel sending anything.

const EMOJI: Record<string, string> = { up: "👍", what: "❓", look: "👀", yay: "🎉", hand: "✋" };
const WINDOW_S = 60;

export interface CellReactions {
  cell?: string;
  index?: number | null;
  ages?: [number, Record<string, number>][];
}

interface TraitModel {
  get(name: "reactions"): CellReactions[];
  on(event: string, cb: () => void): void;
  off(event: string, cb: () => void): void;
}

/** Per cell, the counts still within the minute `elapsed` seconds after they were sent. */
export function stillCounted(rows: CellReactions[], elapsed: number): [string, Record<string, number>][] {
  const out: [string, Record<string, number>][] = [];
  for (const row of rows) {
    const counts: Record<string, number> = {};
    for (const [age, named] of row.ages ?? []) {
      if (age + elapsed >= WINDOW_S) continue;
      for (const [name, n] of Object.entries(named)) counts[name] = (counts[name] ?? 0) + n;
    }
    if (!Object.keys(counts).length) continue;
    const label = typeof row.index === "number" ? `cell ${row.index + 1}` : `cell ${row.cell ?? "?"}`;
    out.push([label, counts]);
  }
  return out;
}

/** The list element (data-testid="widget-reactions"); kept current until `signal` aborts. */
export function reactionList(model: TraitModel, signal: AbortSignal): HTMLElement {
  const list = document.createElement("ul");
  list.className = "jsw-reactions";
  list.setAttribute("data-testid", "widget-reactions");
  let sent = performance.now();
  const draw = (): void => {
    const rows = stillCounted(model.get("reactions") || [], (performance.now() - sent) / 1000);
    list.hidden = rows.length === 0;
    list.replaceChildren(
      ...rows.map(([label, counts]) => {
        const li = document.createElement("li");
        li.setAttribute("data-cell", label);
        const parts = Object.entries(counts).map(([n, c]) => `${EMOJI[n] ?? "?"} ${c}`);
        li.textContent = `${label}: ${parts.join("  ")}`;
        return li;
      }),
    );
  };
  const changed = (): void => {
    sent = performance.now();
    draw();
  };
  model.on("change:reactions", changed);
  const timer = setInterval(draw, 5000);
  signal.addEventListener("abort", () => {
    clearInterval(timer);
    model.off("change:reactions", changed);
  });
  draw();
  return list;
}
