// Is the share behind this widget still there? A widget's view outlives its kernel: after a
// restart, or the kernel dying, the notebook keeps the output and the model keeps its last traits
// (Live, the link, the people), and no "stopped" can come from a kernel that is gone. So the view
// watches for itself (docs/architecture.md, "The notebook widget"):
//   - the front end's own news: ipywidgets sets the model's `comm_live` to false (event
//     "comm_live_update") when JupyterLab / Notebook 7 restart the kernel, and the widget
//     manager's kernel (JupyterLab's `widget_manager.kernel`) says "restarting",
//     "autorestarting" (it died and the server restarts it) or "dead", or is replaced;
//   - the share server's answer: `x/alive` (server/app.py) on its local address (trait
//     `local_url`, loopback: free) every PING_MS; through the public link only when the local one
//     never answers and the front end gives no kernel news (Colab), and then rarely
//     (PUBLIC_PING_MS, backing off): a tunnel counts requests. The server is a child of the
//     kernel and exits with it (server/child.py), so a kernel killed in a front end that tells
//     nothing (VS Code) is noticed there too, after SILENCE_MS without an answer.
//     A ping counts only once one has answered (a link this page cannot reach, e.g. an http
//     link from an https notebook, proves nothing), and a ping that answers again brings it back.
// Then the widget offers to share again: through the front end's kernel connection when it has
// one (`requestExecute`, JupyterLab and Notebook 7), else it says what to run.

/** The local share server is asked every PING_MS (loopback: it costs nothing). */
export const PING_MS = 1000;
/** The public link only when no local one answers and no kernel news exists (VS Code, Colab):
 * every request goes through the tunnel (ngrok's free plan: 20,000 a month), so at most one per
 * PUBLIC_PING_MS, doubling after each answer up to PUBLIC_PING_MAX_MS. */
export const PUBLIC_PING_MS = 15_000;
export const PUBLIC_PING_MAX_MS = 120_000;
/** The local link is tried every PING_MS this many times before it is taken as unreachable
 * from this browser (then every PUBLIC_PING_MS). */
const LOCAL_TRIES = 5;
/** The ping alone says "gone" only after this long of unanswered pings (a short outage, a busy
 * server, is not a stop); kernel news stays immediate. */
export const SILENCE_MS = 10_000;
const PING_TIMEOUT_MS = 2500;
/** ngrok's free plan answers a browser's request with a warning page (no CORS) unless this
 * header is sent; the share server answers the preflight it causes (server/app.py `alive`). */
const NGROK_SKIP = { "ngrok-skip-browser-warning": "1" };

export const GONE = {
  restarted: "The kernel restarted: sharing stopped.",
  dead: "The kernel stopped: sharing stopped.",
  changed: "The notebook's kernel changed: sharing stopped.",
  server: "The share's server no longer answers (did the kernel stop or restart?).",
};

/** How this widget knows its share is gone: by the kernel (final) or by the server's silence. */
export type GoneBy = "comm" | "kernel" | "server";

/** What JupyterLab's kernel connection (@jupyterlab/services IKernelConnection) offers us. */
interface Signal<T> {
  connect(fn: (sender: unknown, value: T) => void): unknown;
  disconnect(fn: (sender: unknown, value: T) => void): unknown;
}

interface Future {
  onIOPub: (msg: IOPubMsg) => void;
  done: Promise<unknown>;
}

interface IOPubMsg {
  header?: { msg_type?: string };
  content?: {
    data?: Record<string, unknown>;
    metadata?: Record<string, unknown>;
    ename?: string;
    evalue?: string;
  };
}

export interface KernelLike {
  status?: string;
  statusChanged?: Signal<string>;
  requestExecute?: (content: { code: string; store_history?: boolean }) => Future;
}

/** The widget manager's kernel, when the front end has one (JupyterLab, Notebook 7). */
export function kernelOf(manager: unknown): KernelLike | null {
  try {
    const kernel = (manager as { kernel?: unknown } | null)?.kernel;
    return kernel && typeof kernel === "object" ? (kernel as KernelLike) : null;
  } catch {
    return null;
  }
}

const KERNEL_GONE: Record<string, string> = {
  restarting: GONE.restarted,
  autorestarting: GONE.restarted,
  dead: GONE.dead,
};

/** `x/alive` beside the guest page `url` (its token kept), or "" for no usable link. */
export function aliveUrl(url: string): string {
  try {
    const page = new URL(url);
    if (page.protocol !== "http:" && page.protocol !== "https:") return "";
    const alive = new URL("x/alive", page);
    const token = page.searchParams.get("token");
    if (token) alive.searchParams.set("token", token);
    return alive.href;
  } catch {
    return "";
  }
}

/** The answers that say the share is open: 204, 403 (a rotated token), 503 (reopening). */
function answers(status: number): boolean {
  return status === 204 || status === 403 || status === 503;
}

export interface Watch {
  model: {
    on(event: string, cb: () => void): void;
    off(event: string, cb: () => void): void;
    widget_manager?: unknown;
  };
  /** The guest link now (it changes when the tunnel reopens). */
  url(): string;
  /** The same page on the share server's own address (loopback), "" when unknown. */
  localUrl(): string;
  /** A ping was answered (tests wait on it). */
  onAnswer?(): void;
  /** Watch only while this is true (a share that is live, not one already stopped). */
  active(): boolean;
  /** The share is gone (`by` "comm" or "kernel": for good) or, `reason` "", back. */
  onChange(reason: string, by: GoneBy | null): void;
  signal: AbortSignal;
}

export function watchShare(w: Watch): void {
  const kernel = kernelOf(w.model.widget_manager);
  let final = false;
  let serverGone = false;

  const gone = (reason: string, by: GoneBy): void => {
    if (final || w.signal.aborted) return;
    final = by !== "server";
    w.onChange(reason, by);
  };
  const onCommLive = (): void => {
    // ipywidgets sets comm_live to true before any view exists: after that, only to false.
    if (w.active()) gone(GONE.restarted, "comm");
  };
  const onStatus = (_sender: unknown, status: string): void => {
    if (KERNEL_GONE[status] && w.active()) gone(KERNEL_GONE[status], "kernel");
  };
  w.model.on("comm_live_update", onCommLive);
  kernel?.statusChanged?.connect(onStatus);

  // One record per link asked: has it ever answered, since when has it not, when is it next due.
  const local = { answered: false, failingSince: 0, tries: 0, due: 0, delay: PING_MS };
  const remote = { answered: false, failingSince: 0, tries: 0, due: 0, delay: PUBLIC_PING_MS };

  const ask = async (url: string, viaTunnel: boolean): Promise<boolean> => {
    const abort = new AbortController();
    const timeout = window.setTimeout(() => abort.abort(), PING_TIMEOUT_MS);
    const stop = (): void => abort.abort();
    w.signal.addEventListener("abort", stop);
    try {
      const init: RequestInit = { cache: "no-store", credentials: "omit", signal: abort.signal };
      if (viaTunnel) init.headers = NGROK_SKIP;
      return answers((await fetch(url, init)).status);
    } catch {
      return false; // refused, unreachable, timed out
    } finally {
      window.clearTimeout(timeout);
      w.signal.removeEventListener("abort", stop);
    }
  };

  const ping = async (
    target: typeof local,
    url: string,
    viaTunnel: boolean,
    now: number,
  ): Promise<void> => {
    target.tries += 1;
    const ok = await ask(url, viaTunnel);
    if (final || w.signal.aborted) return;
    if (ok) {
      target.answered = true;
      target.failingSince = 0;
      target.delay = viaTunnel ? Math.min(target.delay * 2, PUBLIC_PING_MAX_MS) : PING_MS;
      target.due = Date.now() + (viaTunnel ? target.delay : PING_MS);
      w.onAnswer?.();
      if (serverGone) {
        serverGone = false;
        w.onChange("", null);
      }
      return;
    }
    target.failingSince ||= now;
    const slow = viaTunnel || (!target.answered && target.tries >= LOCAL_TRIES);
    target.delay = slow ? PUBLIC_PING_MS : PING_MS;
    target.due = Date.now() + target.delay;
    if (target.answered && now - target.failingSince >= SILENCE_MS && !serverGone) {
      serverGone = true;
      gone(GONE.server, "server");
    }
  };

  const check = async (): Promise<void> => {
    const now = kernelOf(w.model.widget_manager);
    if (kernel && now && now !== kernel) return gone(GONE.changed, "kernel");
    const t = Date.now();
    const localUrl = aliveUrl(w.localUrl());
    const publicUrl = aliveUrl(w.url());
    if (localUrl && t >= local.due) return ping(local, localUrl, false, t);
    // Through the tunnel only when nothing cheaper tells: no local answer, no kernel news.
    const tunnelOnly = !localUrl || (!local.answered && local.tries >= LOCAL_TRIES);
    const viaTunnel = publicUrl && publicUrl !== localUrl && tunnelOnly && !kernel?.statusChanged;
    if (viaTunnel && t >= remote.due) return ping(remote, publicUrl, true, t);
  };

  let timer = 0;
  const tick = async (): Promise<void> => {
    if (!final && (w.active() || serverGone)) await check();
    if (!final && !w.signal.aborted) timer = window.setTimeout(tick, PING_MS);
  };
  void tick();
  w.signal.addEventListener("abort", () => {
    window.clearTimeout(timer);
    w.model.off("comm_live_update", onCommLive);
    kernel?.statusChanged?.disconnect(onStatus);
  });
}

/** What the user should run to share again, when the widget cannot run it itself. */
export function runHint(code: string): string {
  // The code itself is shown apart (index.ts: a <pre> with a Copy button): inline, its line
  // breaks were lost and the copied text did not run.
  return code ? "To share again, run this in a cell:" : "To share again, run %jupyterspot share.";
}

/** A notebook output (nbformat's display_data) as a cell's output model takes it. */
export interface DisplayOutput {
  output_type: "display_data";
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/**
 * Share again through the front end's kernel connection: `code` (frontends/widget.py
 * `share_again_code`) runs in the kernel as the notebook's cell did, and the new share's widget
 * model (its display_data) is handed to `mount`. Resolves with an error line ("" when mounted).
 * null: this front end has no kernel connection for us (say what to run instead).
 */
export function shareAgain(
  manager: unknown,
  code: string,
  mount: (modelId: string, output: DisplayOutput) => Promise<void>,
): Promise<string> | null {
  const kernel = kernelOf(manager);
  if (!code || !kernel?.requestExecute) return null;
  let future: Future;
  try {
    future = kernel.requestExecute({ code, store_history: false });
  } catch (e) {
    return Promise.resolve(`Could not reach the kernel (${String(e)}). ${runHint(code)}`);
  }
  let mounted: Promise<void> | null = null;
  let error = "";
  future.onIOPub = (msg: IOPubMsg) => {
    const type = msg.header?.msg_type;
    const view = msg.content?.data?.["application/vnd.jupyter.widget-view+json"] as
      | { model_id?: unknown }
      | undefined;
    if ((type === "display_data" || type === "execute_result") && view) {
      if (typeof view.model_id === "string" && !mounted) {
        const { data = {}, metadata = {} } = msg.content ?? {};
        mounted = mount(view.model_id, { output_type: "display_data", data, metadata });
      }
    } else if (type === "error") {
      error = `${msg.content?.ename ?? "Error"}: ${msg.content?.evalue ?? ""}`;
    }
  };
  return future.done.then(
    async () => {
      if (mounted) {
        await mounted;
        return "";
      }
      return error || `The kernel showed no new widget. ${runHint(code)}`;
    },
    () => error || `The share did not start. ${runHint(code)}`,
  );
}
