// Viewer entry point: wires the page config, the reference layout, the two Yjs rooms, presence
// and the top bar together. Loaded at the end of the nbconvert page, after #jupyterspot-config.

import type { Awareness } from "y-protocols/awareness";
import type * as Y from "yjs";
import type { WebsocketProvider } from "y-websocket";
import { cleanName, readConfig, readName, readToken, storeName, wsBaseUrl } from "./config";
import type { PageConfig } from "./config";
import { startBoard, type Board } from "./board";
import { Connection } from "./connection";
import { hydrateFigures } from "./figures";
import { colorFor, guestName, safeColor, type UserInfo } from "./identity";
import { Layout } from "./layout";
import { PresencePublisher, RemoteCursors, type PresenceState } from "./presence";
import { TopBar, type Participant } from "./ui";
import { startFollow, type Follow } from "./follow";
import { startLive } from "./live";

export interface JupyterspotHandle {
  config: PageConfig;
  boardDoc: Y.Doc;
  controlDoc: Y.Doc;
  awareness: Awareness;
  provider: WebsocketProvider;
  controlProvider: WebsocketProvider;
  connection: Connection;
  layout: Layout;
  bar: TopBar;
  presence: PresencePublisher;
  cursors: RemoteCursors;
  board: Board;
  follow: Follow;
  setName(name: string): void;
}

declare global {
  interface Window {
    jupyterspot?: JupyterspotHandle;
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
    });
  }
  const rank = (p: Participant): number => (p.self ? 0 : p.role === "host" ? 1 : 2);
  return people.sort(
    (a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name) || a.clientId - b.clientId,
  );
}

function start(): void {
  if (startLive()) return; // an exported file: drawn offline, no connection
  const config = readConfig();
  const root =
    document.getElementById("jupyterspot-root") ?? document.querySelector("main") ?? document.body;
  // Sockets first: the handshake then overlaps the layout work below (~150 ms on big pages).
  const connection = new Connection(wsBaseUrl(config.wsBase), readToken());
  const layout = new Layout(root, config.refWidth);
  const bar = new TopBar(config.title);
  const awareness = connection.awareness;
  const clientId = awareness.clientID;

  const guest = guestName(clientId);
  const remembered = readName();
  const user: UserInfo = {
    name: remembered.name || guest,
    color: colorFor(clientId),
    role: config.role,
  };
  awareness.setLocalState({ user: { ...user }, cursor: null, scroll: null, following: null });

  const setName = (name: string): void => {
    const cleaned = cleanName(name);
    if (!cleaned) return;
    storeName(cleaned);
    user.name = cleaned;
    awareness.setLocalStateField("user", { ...user });
  };
  const askName = (): void => bar.askName(user.name === guest ? "" : user.name, guest, setName);
  bar.onRenameRequest = askName;
  if (!remembered.name) askName();

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
  const follow = startFollow({ config, awareness, controlDoc: connection.controlDoc, layout, bar });

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

  window.jupyterspot = {
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
    setName,
  };
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start, { once: true });
} else {
  start();
}
