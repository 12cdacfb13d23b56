// The share widget shown in the notebook (anywidget module): link + copy, host-link copy, QR,
// status, participants, Stop, and the lead controls (take, release, hand over, bring everyone
// back, policy) and the live toggles (pause/resume live updates, follow the running cell).
// Traits come from jupyterspot_magic/frontends/widget.py (ShareWidget). Stop, the lead and the
// live controls are commands to the kernel ("stop", "lead", "live"), sent with anywidget's
// `experimental.invoke` when the host page offers it, else as custom messages (`kernelAsker`).
// The kernel handles either only when idle: the widget says so until the answer comes.
// Everything is inserted as text; nothing from the model is parsed as HTML.
import pageConfig from "../../jupyterspot_magic/contracts/page_config.json";
import {
  type DisplayOutput,
  type GoneBy,
  kernelOf,
  runHint,
  shareAgain,
  watchShare,
} from "./lifeline";
import { type QuestionRow, questionList } from "./questions";
import { type CellReactions, reactionList } from "./reactions";

declare const __WIDGET_CSS__: string;

interface ParticipantInfo {
  client_id?: number;
  name?: string;
  color?: string;
  role?: string;
  cell?: string | null;
  cell_index?: number | null;
  cell_count?: number | null;
  following?: number | null;
  hand?: boolean; // a raised hand (issue 18)
}

interface Model {
  get(
    name:
      | "url"
      | "local_url"
      | "host_url"
      | "qr_data_uri"
      | "status"
      | "message"
      | "title"
      | "lead_policy"
      | "live_mode"
      | "share_again"
      | "reach"
      | "next_step",
  ): string;
  get(name: "participants"): ParticipantInfo[];
  get(name: "reactions"): CellReactions[];
  get(name: "open_questions"): QuestionRow[];
  get(name: "leader"): number | null;
  get(name: "follow_running" | "reactions_on" | "questions_on"): boolean;
  on(event: string, cb: (...args: never[]) => void): void;
  off(event: string, cb: (...args: never[]) => void): void;
  send(content: Record<string, unknown>): void;
  /** The front end's widget manager (ipywidgets'; anywidget passes it on): its kernel, models. */
  widget_manager?: unknown;
}

/** The kernel's answer to a command (frontends/widget.py `Answer`). */
interface Answer {
  ok?: boolean;
  message?: string;
}

interface Ack extends Answer {
  type?: string;
  req?: number;
}

type Command = "stop" | "lead" | "live" | "notes" | "questions" | "switches";

// The host's switches (issue 18): the trait that shows each, and its label.
const SWITCHES = [
  { op: "reactions", trait: "reactions_on", label: "React", what: "react, raise a hand and chat" },
  { op: "questions", trait: "questions_on", label: "Ask questions", what: "pin questions" },
] as const;

/** anywidget's `experimental.invoke`: a command to the kernel, answered as [response, buffers]. */
type Invoke = (
  name: string,
  msg: Record<string, unknown>,
  options?: { signal?: AbortSignal },
) => Promise<[unknown, unknown]>;

/** Ask the kernel; the promise settles with its answer (never, if the kernel never answers). */
type Ask = (name: Command, msg: Record<string, unknown>) => Promise<Answer>;

/** After this long without an answer the kernel is busy: say so. */
const BUSY_AFTER_MS = 400;
/** control.leader while the running cell leads (page config contract `kernelLeader`). */
const KERNEL_LEADER: number = pageConfig.kernelLeader.values[0];

interface RenderProps {
  model: Model;
  el: HTMLElement;
  experimental?: { invoke?: Invoke };
}

const TRAITS = [
  "url",
  "host_url",
  "qr_data_uri",
  "status",
  "message",
  "title",
  "participants",
  "leader",
  "lead_policy",
  "live_mode",
  "follow_running",
  "reactions_on",
  "questions_on",
  "share_again",
  "reach",
  "next_step",
];

const STATUS_LABEL: Record<string, string> = {
  rendering: "Preparing…",
  starting: "Starting…",
  live: "Live",
  stopped: "Stopped",
  error: "Error",
};

/** What the QR code and Copy say of a link that is not public (trait "reach"). */
const REACH_NOTE: Record<string, { short: string; long: string }> = {
  local: {
    short: "this machine only",
    long: "This link only works on this machine (no QR code: a phone cannot open it).",
  },
  lan: { short: "LAN only", long: "This link only works on this network (LAN)." },
};

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls = "",
  text = "",
  attrs: Record<string, string> = {},
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text) el.textContent = text;
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

function safeColor(color: unknown): string {
  return typeof color === "string" && /^#[0-9a-fA-F]{6}$/.test(color) ? color : "#868e96";
}

function safeHttpUrl(url: string): string {
  try {
    const u = new URL(url);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : "";
  } catch {
    return "";
  }
}

function selectText(node: Node): void {
  const sel = window.getSelection();
  if (!sel) return;
  const range = document.createRange();
  range.selectNodeContents(node);
  sel.removeAllRanges();
  sel.addRange(range);
}

/** Copy text; if the clipboard API is refused, select `fallback` so the user can press Ctrl+C. */
async function copyText(text: string, fallback: () => Node): Promise<boolean> {
  try {
    if (!navigator.clipboard) throw new Error("no clipboard API");
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const node = fallback();
    selectText(node);
    try {
      return document.execCommand("copy");
    } catch {
      return false;
    }
  }
}

function flash(button: HTMLButtonElement, text: string, label: string): void {
  button.textContent = text;
  window.setTimeout(() => {
    button.textContent = label;
  }, 1600);
}

/**
 * How this widget asks the kernel. With anywidget's invoke (it pairs each answer with its
 * request); else a custom message `{type: name, req, ...msg}` answered by `{type: "ack", req}`.
 * No timeout: a running cell holds every answer back, and the widget says it is waiting.
 * `signal` ends the wait when the view goes away.
 */
function kernelAsker(model: Model, invoke: Invoke | undefined, signal: AbortSignal): Ask {
  if (invoke) {
    return async (name, msg) => {
      const [response] = await invoke(name, msg, { signal });
      return (response ?? {}) as Answer;
    };
  }
  let reqSeq = 0;
  const pending = new Map<number, (answer: Answer) => void>();
  const onAck = (ack: Ack): void => {
    if (!ack || ack.type !== "ack" || typeof ack.req !== "number") return;
    pending.get(ack.req)?.(ack);
    pending.delete(ack.req);
  };
  model.on("msg:custom", onAck);
  signal.addEventListener("abort", () => {
    model.off("msg:custom", onAck);
    pending.clear();
  });
  return (name, msg) => {
    reqSeq += 1;
    const req = reqSeq;
    model.send({ type: name, ...msg, req });
    return new Promise((resolve) => pending.set(req, resolve));
  };
}

/**
 * anywidget's entry: a view of the model, replaced in place by a view of the new share's model
 * when "Share again" runs the share through the kernel (lifeline.ts `shareAgain`).
 */
function render(props: RenderProps): () => void {
  let cleanup = (): void => undefined;
  const show = (model: Model, experimental?: RenderProps["experimental"]): void => {
    cleanup();
    cleanup = view({ model, el: props.el, experimental }, (next) => show(next));
  };
  show(props.model, props.experimental);
  return () => cleanup();
}

/** The new share's model, by id: its comm_open came just before its display_data. */
async function modelById(manager: unknown, id: string): Promise<Model> {
  const get = (manager as { get_model?: (id: string) => Promise<Model> | undefined }).get_model;
  for (let attempt = 0; ; attempt += 1) {
    try {
      const model = await get?.call(manager, id);
      if (model) return model;
    } catch (e) {
      if (attempt >= 20) throw e;
    }
    if (attempt >= 20) throw new Error(`no widget model ${id}`);
    await new Promise((resolve) => window.setTimeout(resolve, 100));
  }
}

const WIDGET_VIEW = "application/vnd.jupyter.widget-view+json";

interface OutputsModel {
  length: number;
  get(index: number): { data?: Record<string, unknown> } | undefined;
  set(index: number, output: DisplayOutput): void;
}

/**
 * Put the new share's widget where this one is, in the notebook's own model: the cell's output
 * (JupyterLab, Notebook 7: the widget manager's document context). The share ran with
 * store_history false and our own IOPub handler, so its display_data reached no output area:
 * shown only in this view, it was gone after a reload and never saved. Setting the cell's
 * output renders the new widget there (this view goes away) and saves with the notebook.
 * False when this front end has no such model (then the view shows the new widget in place).
 */
function placeInCell(manager: unknown, el: HTMLElement, output: DisplayOutput): boolean {
  try {
    type Cells = { length: number; get(index: number): { outputs?: OutputsModel } | undefined };
    const context = (manager as { context?: { model?: { cells?: Cells } } } | null)?.context;
    const cells = context?.model?.cells;
    const cellNode = el.closest<HTMLElement>(".jp-Cell");
    const child = el.closest(".jp-OutputArea-child");
    if (!cells || !cellNode || !child?.parentElement) return false;
    // JupyterLab 4's notebook numbers its cells' nodes (windowed list); else count them.
    const numbered = Number.parseInt(cellNode.dataset.windowedListIndex ?? "", 10);
    const all = [...(cellNode.closest(".jp-Notebook")?.querySelectorAll(".jp-Cell") ?? [])];
    const cellIndex = Number.isInteger(numbered) ? numbered : all.indexOf(cellNode);
    const outputIndex = [...child.parentElement.children]
      .filter((n) => n.classList.contains("jp-OutputArea-child"))
      .indexOf(child);
    const outputs = cells.get(cellIndex)?.outputs;
    if (!outputs || outputIndex < 0 || outputIndex >= outputs.length) return false;
    if (!outputs.get(outputIndex)?.data?.[WIDGET_VIEW]) return false; // not ours: leave it
    outputs.set(outputIndex, output);
    return true;
  } catch {
    return false;
  }
}

function view(
  { model, el, experimental }: RenderProps,
  replace: (next: Model) => void,
): () => void {
  const style = h("style");
  style.textContent = __WIDGET_CSS__;

  const qr = h("img", "jsw-qr", "", {
    alt: "QR code of the share link",
    "data-testid": "widget-qr",
    width: "140",
    height: "140",
  });

  const title = h("div", "jsw-title");
  const status = h("span", "jsw-status", "", { "data-testid": "widget-status", role: "status" });
  const head = h("div", "jsw-head");
  head.append(title, status);

  const link = h("a", "jsw-link", "", {
    target: "_blank",
    rel: "noopener noreferrer",
    "data-testid": "widget-link",
  });
  const linkPlaceholder = h("span", "jsw-placeholder", "Preparing the link…");
  const copy = h("button", "jsw-button jsw-primary", "Copy link", {
    type: "button",
    "data-testid": "widget-copy",
  });
  const linkRow = h("div", "jsw-link-row");
  linkRow.append(link, linkPlaceholder, copy);

  const hostCopy = h("button", "jsw-button jsw-small", "Copy host link", {
    type: "button",
    "data-testid": "widget-host-copy",
    title: "The host link gives host rights: keep it for yourself",
  });
  const hostFallback = h("input", "jsw-host-fallback", "", {
    readonly: "",
    "aria-label": "Host link",
  });
  hostFallback.hidden = true;
  const stop = h("button", "jsw-button jsw-stop", "Stop sharing", {
    type: "button",
    "data-testid": "widget-stop",
  });
  // The meeting's notes notebook beside the original (issue 18): also once Stop was pressed,
  // not once the kernel is gone (nothing there holds the board any more).
  const keepNotes = h("button", "jsw-button jsw-small", "Keep notes", {
    type: "button",
    "data-testid": "widget-notes",
    title: "Write <name>-notes.ipynb beside the notebook: its cells with what was written on each",
  });
  const actions = h("div", "jsw-actions");
  actions.append(hostCopy, keepNotes, stop);
  // -- stopped (by Stop, or the kernel gone: lifeline.ts): share again, or what to run --
  const again = h("button", "jsw-button jsw-primary", "Share again", {
    type: "button",
    "data-testid": "widget-share-again",
  });
  // What to run when the widget cannot run it: the code in a <pre> (its line breaks are Python's)
  // with its own Copy button.
  const againHint = h("div", "jsw-again-hint", "", { "data-testid": "widget-share-again-hint" });
  const againText = h("div", "jsw-again-text");
  const againCode = h("pre", "jsw-again-code", "", { "data-testid": "widget-share-again-code" });
  const againCopy = h("button", "jsw-button jsw-small", "Copy code", {
    type: "button",
    "data-testid": "widget-share-again-copy",
  });
  againHint.append(againText, againCode, againCopy);
  actions.append(again);

  // -- lead controls --
  const leadLine = h("span", "jsw-lead-line", "", { "data-testid": "widget-leader" });
  // A real link: VS Code ignores window.open. It opens the presenter view, which takes the lead
  // (?lead=1); when a presenter view is already open the click asks the kernel instead.
  const take = h("a", "jsw-button jsw-small", "Take lead", {
    target: "_blank",
    rel: "noopener noreferrer",
    role: "button",
    "data-testid": "widget-take-lead",
  });
  const release = h("button", "jsw-button jsw-small", "Release lead", {
    type: "button",
    "data-testid": "widget-release-lead",
  });
  const recall = h("button", "jsw-button jsw-small", "Bring everyone back", {
    type: "button",
    "data-testid": "widget-recall",
    title: "Everyone who scrolled away follows the leader again",
  });
  const policy = h("select", "jsw-select", "", {
    "data-testid": "widget-lead-policy",
    "aria-label": "Who may take the lead",
  });
  for (const [value, label] of [
    ["anyone", "Anyone may lead"],
    ["host", "Host decides"],
  ]) {
    const option = h("option", "", label);
    option.value = value;
    policy.append(option);
  }
  const leadState = h("div", "jsw-lead-state", "", {
    "data-testid": "widget-lead-state",
    role: "status",
  });
  // -- live toggles: what the kernel runs reaches the pages; bring followers to it --
  const liveToggle = h("button", "jsw-button jsw-small", "", {
    type: "button",
    "data-testid": "widget-live-toggle",
  });
  const followRunning = h("button", "jsw-button jsw-small jsw-toggle", "Follow running cell", {
    type: "button",
    "data-testid": "widget-follow-running",
    title: "Bring everyone who follows the lead to the output of the cell that runs",
  });
  // -- the host's switches: reactions, questions (on by default) --
  const switches = SWITCHES.map((s) => ({
    ...s,
    button: h("button", "jsw-button jsw-small jsw-toggle", s.label, {
      type: "button",
      "data-testid": `widget-${s.op}-switch`,
    }),
  }));
  const leadRow = h("div", "jsw-lead");
  leadRow.append(leadLine, take, release, recall, policy, liveToggle, followRunning);
  const switchRow = h("div", "jsw-lead", "", { "data-testid": "widget-switches" });
  switchRow.append(h("span", "jsw-lead-line", "Guests can"), ...switches.map((s) => s.button));

  const message = h("div", "jsw-message", "", { "data-testid": "widget-message" });
  const peopleTitle = h("div", "jsw-people-title");
  const people = h("ul", "jsw-people", "", { "data-testid": "widget-participants" });

  const main = h("div", "jsw-main");
  main.append(head, linkRow, actions, hostFallback, message, leadRow, switchRow, leadState, peopleTitle, people);
  const root = h("div", "jupyterspot-widget");
  // Who can open the link (trait "reach"): a loopback link gets no QR code (no phone can open
  // it), a LAN link's says so; both show the one step toward a public link (trait "next_step").
  const qrNote = h("div", "jsw-qr-note", "", { "data-testid": "widget-reach" });
  const qrBox = h("div", "jsw-qr-box");
  qrBox.append(qr, qrNote);
  const nextStep = h("div", "jsw-next-step", "", { "data-testid": "widget-next-step" });
  linkRow.after(nextStep);
  root.append(qrBox, main);
  el.replaceChildren(style, root);
  message.after(againHint);

  let stopping = false;
  const teardown = new AbortController(); // aborted when the view goes away
  const ask = kernelAsker(model, experimental?.invoke, teardown.signal);
  main.append(reactionList(model, teardown.signal)); // per cell, the last minute (issue 18)

  // -- lead controls: one outstanding request at a time; a newer one replaces its answer --
  let waiting: { label: string; timer: number } | null = null;
  let clearTimer = 0;
  const showLeadState = (text: string, kind: string): void => {
    window.clearTimeout(clearTimer);
    leadState.textContent = text;
    leadState.setAttribute("data-kind", kind);
    leadState.hidden = !text;
    if (kind !== "waiting" && text) {
      clearTimer = window.setTimeout(() => showLeadState("", ""), 5000);
    }
  };
  showLeadState("", "");
  const send = (
    command: Command,
    op: string,
    label: string,
    extra: Record<string, unknown> = {},
  ): void => {
    if (waiting) window.clearTimeout(waiting.timer);
    const request = {
      label,
      timer: window.setTimeout(() => {
        if (waiting === request) {
          showLeadState(`${label}: waiting for the kernel (a cell is running)…`, "waiting");
        }
      }, BUSY_AFTER_MS),
    };
    waiting = request;
    root.setAttribute("data-waiting", "");
    ask(command, { op, ...extra }).then(
      (answer) => {
        if (waiting !== request) return; // a newer request is waiting: its answer counts
        window.clearTimeout(request.timer);
        waiting = null;
        root.removeAttribute("data-waiting");
        const text = answer.message || (answer.ok ? "Done." : "That did not work.");
        showLeadState(text, answer.ok ? "ok" : "error");
      },
      () => undefined, // the view went away
    );
  };
  keepNotes.addEventListener("click", () => send("notes", "write", "Keep notes"));
  // the open questions (issue 18): go there, answered
  main.append(questionList(model, (op, id, label) => send("questions", op, label, { id }), teardown.signal));
  const sendLead = (op: string, label: string, extra: Record<string, unknown> = {}): void =>
    send("lead", op, label, extra);
  const hostPageOpen = (): boolean =>
    (model.get("participants") || []).some((p) => p.role === "host");
  take.addEventListener("click", (e) => {
    // No presenter view open: the link opens one (it takes the lead itself).
    if (!hostPageOpen() && take.href) return;
    e.preventDefault();
    sendLead("take", "Take lead");
  });
  release.addEventListener("click", () => sendLead("release", "Release lead"));
  recall.addEventListener("click", () => sendLead("recall", "Bring everyone back"));
  policy.addEventListener("change", () =>
    sendLead("policy", "Lead policy", { policy: policy.value }),
  );
  liveToggle.addEventListener("click", () => {
    const on = model.get("live_mode") !== "paused";
    send("live", on ? "pause" : "resume", on ? "Pause live" : "Resume live", { on: !on });
  });
  followRunning.addEventListener("click", () => {
    const on = model.get("follow_running") === true;
    send("live", "follow_running", "Follow running cell", { on: !on });
  });
  for (const s of switches) {
    s.button.addEventListener("click", () => {
      const on = model.get(s.trait) !== false;
      send("switches", s.op, s.label, { on: !on });
    });
  }

  const copyLabel = (): string => {
    const where = model.get("status") !== "stopped" ? REACH_NOTE[model.get("reach")] : undefined;
    return where ? `Copy link (${where.short})` : "Copy link";
  };
  copy.addEventListener("click", async () => {
    const url = link.href && safeHttpUrl(model.get("url"));
    if (!url) return;
    const ok = await copyText(url, () => link);
    flash(copy, ok ? "Copied" : "Press Ctrl+C", copyLabel());
  });
  hostCopy.addEventListener("click", async () => {
    const url = safeHttpUrl(model.get("host_url"));
    if (!url) return;
    const ok = await copyText(url, () => {
      hostFallback.value = url;
      hostFallback.hidden = false;
      hostFallback.select();
      return hostFallback;
    });
    flash(hostCopy, ok ? "Host link copied" : "Press Ctrl+C", "Copy host link");
  });
  stop.addEventListener("click", () => {
    if (stop.disabled) return;
    stopping = true;
    stop.disabled = true;
    stop.textContent = "Stopping…";
    ask("stop", {}).catch(() => undefined); // the status trait says when it stopped
  });

  againCopy.addEventListener("click", async () => {
    const ok = await copyText(againCode.textContent || "", () => againCode);
    flash(againCopy, ok ? "Copied" : "Press Ctrl+C", "Copy code");
  });

  // Why the share is gone though the model still says otherwise ("": it is not): lifeline.ts.
  let gone = "";
  let againProblem = "";
  again.addEventListener("click", () => {
    const mount = async (id: string, output: DisplayOutput): Promise<void> => {
      const next = await modelById(model.widget_manager, id); // registered before it renders
      if (!placeInCell(model.widget_manager, el, output)) replace(next);
    };
    const run = shareAgain(model.widget_manager, model.get("share_again"), mount);
    if (!run) return;
    again.disabled = true;
    again.textContent = "Sharing…";
    againProblem = "";
    void run.then((problem) => {
      again.disabled = false;
      again.textContent = "Share again";
      againProblem = problem;
      update();
    });
  });

  const update = (): void => {
    const st = gone ? "stopped" : model.get("status") || "rendering";
    const done = st === "stopped";
    // Starting, failed or stopped: no share to stop, lead or pause, and nobody in it.
    const noShare = st !== "live";
    // A stopped share's links are dead: don't offer them any more.
    const url = done ? "" : safeHttpUrl(model.get("url"));
    const hostUrl = done ? "" : safeHttpUrl(model.get("host_url"));
    const qrUri = model.get("qr_data_uri");
    const list = noShare ? [] : model.get("participants") || [];

    root.setAttribute("data-status", st);
    title.textContent = model.get("title") ? `Live share · ${model.get("title")}` : "Live share";
    status.setAttribute("data-status", st);
    status.textContent = STATUS_LABEL[st] ?? st;

    if (url) {
      link.href = url;
      link.textContent = url;
      link.title = url;
    } else {
      link.removeAttribute("href");
      link.textContent = "";
    }
    link.hidden = !url;
    linkPlaceholder.hidden = !!url;
    // a stopped share's link: shown struck through, never as a link
    const deadUrl = done ? safeHttpUrl(model.get("url")) : "";
    linkPlaceholder.toggleAttribute("data-dead", !!deadUrl);
    linkPlaceholder.title = deadUrl ? "This link no longer works" : "";
    if (st === "stopped") linkPlaceholder.textContent = deadUrl || "Sharing stopped";
    else if (st === "error") linkPlaceholder.textContent = "No link";
    else linkPlaceholder.textContent = "Preparing the link…";
    copy.disabled = !url;
    hostCopy.hidden = !hostUrl;
    if (!hostUrl) hostFallback.hidden = true;

    const where = url ? REACH_NOTE[model.get("reach")] : undefined;
    copy.textContent = copyLabel();
    copy.title = where ? where.long : "";
    qrNote.textContent = where ? where.long : "";
    qrNote.hidden = !where;
    qrBox.setAttribute("data-reach", url ? model.get("reach") || "public" : "");
    nextStep.textContent = where && st !== "stopped" ? model.get("next_step") || "" : "";
    nextStep.hidden = !nextStep.textContent;

    if (qrUri.startsWith("data:image/") && url && model.get("reach") !== "local") {
      qr.src = qrUri;
      qr.hidden = false;
    } else {
      qr.removeAttribute("src");
      qr.hidden = true;
    }

    message.textContent = gone || model.get("message") || "";
    message.hidden = !message.textContent;

    stop.disabled = done || stopping;
    stop.hidden = noShare;
    keepNotes.hidden = !!gone || (st !== "live" && st !== "stopped");
    const code = model.get("share_again") || "";
    const canRun = !!code && !!kernelOf(model.widget_manager)?.requestExecute;
    again.hidden = !done || !canRun;
    againText.textContent = againProblem || (canRun ? "" : runHint(code));
    againCode.textContent = againText.textContent ? code : "";
    againCode.hidden = againCopy.hidden = !againCode.textContent;
    againHint.hidden = !done || !againText.textContent;
    if (done) {
      stop.textContent = "Stopped";
      stopping = false;
    } else if (!stopping) {
      stop.textContent = "Stop sharing";
    }

    const leader = model.get("leader");
    const leadPolicy = model.get("lead_policy") === "host" ? "host" : "anyone";
    const leaderRow = list.find((p) => p.client_id === leader);
    const leaderName = leader === KERNEL_LEADER ? "The running cell" : leaderRow?.name || "Someone";
    leadLine.textContent = typeof leader === "number" ? `${leaderName} leads` : "Nobody leads";
    leadLine.setAttribute("data-leader", typeof leader === "number" ? String(leader) : "");
    const hostUrl2 = hostUrl ? `${hostUrl}&lead=1` : "";
    if (hostUrl2) take.href = hostUrl2;
    else take.removeAttribute("href");
    take.title = hostPageOpen()
      ? "Make your presenter view the leader"
      : "Open the presenter view; it takes the lead";
    take.hidden = noShare || (typeof leader === "number" && leaderRow?.role === "host");
    release.hidden = noShare || typeof leader !== "number";
    recall.hidden = noShare || typeof leader !== "number";
    policy.value = leadPolicy;
    policy.disabled = noShare;
    leadRow.hidden = noShare;
    // No live outputs (--no-live, or no Jupyter kernel): nothing to pause, nobody to follow.
    const mode = model.get("live_mode");
    liveToggle.hidden = followRunning.hidden = noShare || mode === "off";
    const liveOn = mode !== "paused";
    liveToggle.textContent = liveOn ? "Pause live" : "Resume live";
    liveToggle.title = liveOn
      ? "Guests see what the kernel runs as it runs; pause to show them your saves only"
      : "Live updates paused: guests see your saves only";
    liveToggle.setAttribute("aria-pressed", String(!liveOn));
    const following = model.get("follow_running") === true;
    followRunning.setAttribute("aria-pressed", String(following));
    for (const s of switches) {
      const on = model.get(s.trait) !== false;
      switchRow.hidden = noShare;
      s.button.title = on ? `Guests may ${s.what}; click to turn off` : `Turned off; click to let guests ${s.what}`;
      s.button.setAttribute("aria-pressed", String(on));
    }

    const names = new Map<number, string>();
    for (const p of list) if (typeof p.client_id === "number") names.set(p.client_id, p.name ?? "");
    peopleTitle.textContent = list.length
      ? `${list.length} ${list.length === 1 ? "person" : "people"} here`
      : noShare
        ? ""
        : "Nobody has joined yet";
    peopleTitle.hidden = !peopleTitle.textContent;
    people.replaceChildren(
      ...list.map((p) => {
        const li = h("li", "jsw-person");
        if (typeof p.client_id === "number") li.setAttribute("data-client-id", String(p.client_id));
        const dot = h("span", "jsw-dot");
        dot.style.background = safeColor(p.color);
        li.append(dot, h("span", "jsw-name", p.name || "Guest"));
        if (p.role === "host") li.append(h("span", "jsw-badge", "host"));
        if (p.hand === true) {
          li.append(h("span", "jsw-hand", "✋", { "data-testid": "widget-hand", title: "Hand raised" }));
        }
        const leads = typeof leader === "number" && p.client_id === leader;
        if (leads) li.append(h("span", "jsw-badge jsw-lead-badge", "leads"));
        const details: string[] = [];
        if (typeof p.cell_index === "number" && typeof p.cell_count === "number" && p.cell_count) {
          details.push(`cell ${p.cell_index + 1} of ${p.cell_count}`);
        }
        if (typeof p.following === "number") {
          details.push(`following ${names.get(p.following) || "someone"}`);
        } else if (typeof leader === "number" && !leads) {
          details.push("on their own");
        }
        if (details.length) li.append(h("span", "jsw-detail", details.join(" · ")));
        if (!leads && !noShare && typeof p.client_id === "number") {
          const to = p.client_id;
          const hand = h("button", "jsw-button jsw-tiny", "Make leader", {
            type: "button",
            "data-testid": "widget-hand-lead",
            title: `Everyone follows ${p.name || "Guest"}`,
          });
          hand.addEventListener("click", () => sendLead("hand", "Hand lead", { to }));
          li.append(hand);
        }
        return li;
      }),
    );
  };

  for (const name of TRAITS) model.on(`change:${name}`, update);
  update();
  watchShare({
    model,
    url: () => model.get("url") || "",
    localUrl: () => model.get("local_url") || "",
    onAnswer: () => root.setAttribute("data-ping", "answered"),
    active: () => !["stopped", "error"].includes(model.get("status")),
    onChange: (reason: string, by: GoneBy | null) => {
      gone = reason;
      root.setAttribute("data-gone-by", by ?? "");
      update();
    },
    signal: teardown.signal,
  });
  return () => {
    for (const name of TRAITS) model.off(`change:${name}`, update);
    teardown.abort();
    if (waiting) window.clearTimeout(waiting.timer);
    window.clearTimeout(clearTimer);
  };
}

export default { render };
