// The presenter's queue of open questions in the notebook widget (issue 18), from the widget's
// `open_questions` trait (Share.questions: id, text, by, cell_index; kept current by the kernel):
// "Go there" (the presenter page leads and scrolls to the pin; everyone follows) and
// "Answered" (the pin clears everywhere), both the anywidget command "questions". Text only.

export interface QuestionRow {
  id?: string;
  text?: string;
  by?: string;
  cell_index?: number;
  open?: number; // how many are open (the kernel lists the newest 50: collab/asks.py)
}

interface TraitModel {
  get(name: "open_questions"): QuestionRow[];
  on(event: string, cb: () => void): void;
  off(event: string, cb: () => void): void;
}

/** The list (data-testid="widget-questions"); `act` sends the command. Kept current until
 * `signal` aborts. */
export function questionList(
  model: TraitModel,
  act: (op: "goto" | "answer", id: string, label: string) => void,
  signal: AbortSignal,
): HTMLElement {
  const box = document.createElement("div");
  box.className = "jsw-questions";
  box.setAttribute("data-testid", "widget-questions");
  const title = document.createElement("div");
  title.className = "jsw-people-title";
  const list = document.createElement("ol");
  list.className = "jsw-question-list";
  box.append(title, list);
  const button = (text: string, testid: string, fn: () => void): HTMLButtonElement => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "jsw-button jsw-tiny";
    b.textContent = text;
    b.setAttribute("data-testid", testid);
    b.addEventListener("click", fn);
    return b;
  };
  const draw = (): void => {
    const rows = (model.get("open_questions") || []).filter((q) => typeof q.id === "string");
    const open = Math.max(rows.length, Number(rows[0]?.open) || 0);
    const more = open > rows.length ? ` · +${open - rows.length} more` : "";
    title.textContent = rows.length ? `Questions (${open} open${more})` : "";
    box.hidden = !rows.length;
    list.replaceChildren(
      ...rows.map((q) => {
        const id = q.id as string;
        const li = document.createElement("li");
        li.setAttribute("data-queue-question", id);
        const text = document.createElement("span");
        text.className = "jsw-name";
        text.textContent = q.text || "";
        const by = document.createElement("span");
        by.className = "jsw-detail";
        const where = typeof q.cell_index === "number" ? ` · cell ${q.cell_index + 1}` : "";
        by.textContent = `${q.by || "Guest"}${where}`;
        li.append(
          text,
          by,
          button("Go there", "widget-question-goto", () => act("goto", id, "Go there")),
          button("Answered", "widget-question-answered", () => act("answer", id, "Answered")),
        );
        return li;
      }),
    );
  };
  model.on("change:open_questions", draw);
  signal.addEventListener("abort", () => model.off("change:open_questions", draw));
  draw();
  return box;
}
