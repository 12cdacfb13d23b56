// Viewer entry point: wires the page config, the reference layout, the two Yjs rooms, presence
// and the top bar together. Loaded at the end of the nbconvert page, after #jupyterspot-config.
// Every part gets what it needs here, as constructor arguments; window.jupyterspot is only a
// read-only debug handle for tests and benchmarks (no module reads it).

import type { Awareness } from "y-protocols/awareness";
import type * as Y from "yjs";
import { startQuestions, type Questions } from "./ask";
import { startBoard, type Board } from "./board";
import {
  cleanName,
  pageBlock,
  readConfig,
  readName,
  readToken,
  storeName,
  wsBaseUrl,
  type PageConfig,
} from "./config";
import { Connection } from "./connection";
import { SealedImages } from "./e2e/images";
import { KEY_MESSAGES, readKey } from "./e2e/key";
import { hydrateFigures } from "./figures";
import { startFollow, type Follow } from "./follow";
import { colorFor, guestName, keepAssignedColor, safeColor, type UserInfo } from "./identity";
import { Layout } from "./layout";
import { addReadButton } from "./read-button";
import { Magnify } from "./magnify";
import { Live } from "./live";
import { startOffline } from "./offline";
import { PresencePublisher, RemoteCursors, type PresenceState } from "./presence";
import { Reactions } from "./reactions";
import { watchReadingGesture } from "./reading";
import { RunningIndicator } from "./running";
import { TopBar, type Participant } from "./ui";

export interface JupyterspotHandle {
  config: PageConfig;
  boardDoc: Y.Doc;
  controlDoc: Y.Doc;
  awareness: Awareness;
  /** The board's provider: y-websocket's WebsocketProvider, or a HocuspocusProvider with --relay. */
  provider: object;
  controlProvider: object;
  connection: Connection;
  layout: Layout;
  bar: TopBar;
  presence: PresencePublisher;
  cursors: RemoteCursors;
  board: Board;
  follow: Follow;
  running: RunningIndicator;
  magnify: Magnify;
  reactions: Reactions;
  questions: Questions;
  setName(name: string): void;
}

declare global {
  interface Window {
    /** Debug handle for tests and benchmarks (tests/*.py, bench/*.py); set once by main.ts. */
    readonly jupyterspot?: Readonly<JupyterspotHandle>;
  }
}

function participantsOf(awareness: Awareness): Participant[] {
  const self = awareness.clientID;
  const people: Participant[] = [];
  for (const [clientId, raw] of awareness.getStates() as Map<number, PresenceState>) {
    const user = raw.user;
    if (!user || typeof user !== "object") continue;
    people.push({
      clientId,
      name: cleanName(user.name) || guestName(clientId),
      color: safeColor(user.color),
      role: user.role === "host" ? "host" : "guest",
      self: clientId === self,
      hand: raw.hand === true,
    });
  }
  const rank = (p: Participant): number => (p.self ? 0 : p.role === "host" ? 1 : 2);
  return people.sort(
    (a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name) || a.clientId - b.clientId,
  );
}

function start(): void {
  const config = readConfig();
  const root =
    document.getElementById("jupyterspot-root") ?? document.querySelector("main") ?? document.body;
  const snapshot = pageBlock("jupyterspot-board");
  if (config.offline && snapshot) {
    startOffline(config, root, snapshot); // an exported file: drawn offline, no connection
    return;
  }
  // An encrypted share's page came through e2e-loader.js, which needed the key in the fragment;
  // without it (the fragment edited away since) nothing can be sent or read: say so, stop.
  const found = config.e2e ? readKey() : null;
  if (found?.problem) {
    const bar = new TopBar(config.title, Boolean(config.relay));
    bar.setStatus({ state: "invalid", detail: KEY_MESSAGES[found.problem] });
    return;
  }
  const key = found?.key ?? null;
  // An encrypted page's pictures come sealed, one by one, as they come into view.
  const images = key && new SealedImages(key, config.room);
  images?.watch(root);
  // Sockets first: the handshake then overlaps the layout work below (~150 ms on big pages).
  const connection = new Connection(
    { wsBase: wsBaseUrl(config.wsBase), relay: config.relay, room: config.room, key },
    readToken(),
  );
  const layout = new Layout(root, config.refWidth);
  watchReadingGesture(layout);
  const magnify = new Magnify(layout);
  const bar = new TopBar(config.title, Boolean(config.relay));
  const awareness = connection.awareness;
  const clientId = awareness.clientID;

  const guest = guestName(clientId);
  const remembered = readName(location, config.presenter);
  const user: UserInfo = {
    name: remembered.name || guest,
    color: colorFor(clientId, config.role),
    role: config.role,
  };
  keepAssignedColor(awareness, user);
  awareness.setLocalState({ user: { ...user }, cursor: null, scroll: null, following: null });

  const setName = (name: string): void => {
    const cleaned = cleanName(name);
    if (!cleaned) return;
    storeName(cleaned);
    user.name = cleaned;
    awareness.setLocalStateField("user", { ...user });
  };
  const askName = (inline = false): void =>
    bar.askName(user.name === guest ? "" : user.name, guest, setName, inline);
  bar.onRenameRequest = () => askName();
  bar.onShift = () => layout.changed();
  bar.place(root);
  addReadButton(bar.tools, layout); // the reading zoom without the gesture (read-button.ts)
  if (!remembered.name) askName(true); // in the page's flow, above the notebook

  connection.onStatus((status) => bar.setStatus(status));
  const refreshPeople = (): void => bar.setParticipants(participantsOf(awareness));
  awareness.on("change", refreshPeople);
  refreshPeople();

  const presence = new PresencePublisher(awareness, layout);
  const cursors = new RemoteCursors(awareness, layout);
  const board = startBoard({
    doc: connection.boardDoc,
    controlDoc: connection.controlDoc,
    awareness,
    layout,
    root,
    role: config.role,
  });
  const reactions = new Reactions({
    awareness,
    controlDoc: connection.controlDoc,
    layout,
    button: board.toolbar.reactButton,
    layer: cursors.layer,
  });
  const follow = startFollow({
    role: config.role,
    kernelLeader: config.kernelLeader,
    awareness,
    controlDoc: connection.controlDoc,
    layout,
    bar,
  });

  const questions = startQuestions({
    board,
    bar,
    follow,
    layout,
    controlDoc: connection.controlDoc,
    role: config.role,
    clientId,
  });

  const running = new RunningIndicator({
    controlDoc: connection.controlDoc,
    layout,
    bar,
    follow,
  });

  // Tell the others at once when this tab goes away; come back if the page is restored.
  let saved: Record<string, unknown> | null = null;
  window.addEventListener("pagehide", () => {
    saved = awareness.getLocalState();
    awareness.setLocalState(null);
  });
  window.addEventListener("pageshow", (e) => {
    if (e.persisted && saved && awareness.getLocalState() === null) {
      awareness.setLocalState(saved);
      presence.reset();
    }
  });

  if (root.querySelector(".jupyterspot-plotly, .jupyterspot-vega")) {
    void hydrateFigures(root).then(() => layout.changed());
  }

  const handle: JupyterspotHandle = {
    config,
    boardDoc: connection.boardDoc,
    controlDoc: connection.controlDoc,
    awareness,
    provider: connection.board,
    controlProvider: connection.control,
    connection,
    layout,
    bar,
    presence,
    cursors,
    board,
    follow,
    running,
    magnify,
    reactions,
    questions,
    setName,
  };
  Object.defineProperty(window, "jupyterspot", { value: Object.freeze(handle), configurable: false });

  new Live({
    version: config.version,
    title: config.title,
    seal: key && { key, room: config.room },
    images,
    controlDoc: connection.controlDoc,
    boardDoc: connection.boardDoc,
    layout,
    bar,
    board,
    follow,
    onSwapped: (made) => running.swapped(made),
  });
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start, { once: true });
} else {
  start();
}
