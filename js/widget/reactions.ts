// The presenter's running count of reactions per cell over the last minute (issue 18), from
// the widget's `reactions` trait (session/reactions.py ReactionTally.counts). Each slot comes
// with its start time (ms since the epoch); the list ages it here, so a count drops out of the
// minute without the kernel sending anything. Cells are labelled by their place in the notebook.

const EMOJI: Record<string, string> = { up: "👍", what: "❓", look: "👀", yay: "🎉", hand: "✋" };
const WINDOW_S = 60;

export interface CellReactions {
  cell?: string;
  index?: number | null;
  slots?: [number, Record<string, number>][];
}

interface TraitModel {
  get(name: "reactions"): CellReactions[];
  on(event: string, cb: () => void): void;
  off(event: string, cb: () => void): void;
}

/** Per cell, the counts whose slot began less than a minute before `now` (ms since the epoch). */
export function stillCounted(rows: CellReactions[], now: number): [string, Record<string, number>][] {
  const out: [string, Record<string, number>][] = [];
  for (const row of rows) {
    const counts: Record<string, number> = {};
    for (const [start, named] of row.slots ?? []) {
      if (now - start >= WINDOW_S * 1000) continue;
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
  const draw = (): void => {
    const rows = stillCounted(model.get("reactions") || [], Date.now());
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
  const changed = (): void => draw();
  model.on("change:reactions", changed);
  const timer = setInterval(draw, 5000);
  signal.addEventListener("abort", () => {
    clearInterval(timer);
    model.off("change:reactions", changed);
  });
  draw();
  return list;
}
