// How a page's two rooms reach a server: the small interface Connection (connection.ts) drives,
// and its y-websocket form (one socket per room at the share server's wsBase). The relay's form
// (--relay: Hocuspocus, one socket for both rooms) is relay-rooms.ts. Connection keeps the
// state shown to people and the close-code policy; a Rooms only connects, reports and obeys.

import type * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import type { Awareness } from "y-protocols/awareness";
import { shouldReconnect } from "./close-codes";
import { sealedWebSocket } from "./e2e/socket";

export const NORMAL_MAX_BACKOFF_MS = 2500;
export const SLOW_MAX_BACKOFF_MS = 15000;

/** What a Rooms tells its Connection. */
export interface RoomEvents {
  /** Something live() depends on may have changed. */
  changed(): void;
  /** The board's socket (re)connected: others dropped our presence, announce it again. */
  connected(): void;
  /** A socket closed with `code` (0: none given, e.g. a network drop); `where` names it for
   * logs. Called before the Rooms schedules its next try, so stop() and setSlow() apply to it. */
  closed(code: number, where: string): void;
}

export interface Rooms {
  /** The board's and control's providers (window.jupyterspot's debug handle only). */
  readonly board: object;
  readonly control: object;
  /** Presence: the board room's awareness (control has none). */
  readonly awareness: Awareness;
  /** Both rooms connected and synced. */
  live(): boolean;
  /** Retry about every 15 s (true), or with the normal backoff again (false). */
  setSlow(slow: boolean): void;
  /** Never connect again; safe inside a close handler (no try is scheduled after it). */
  stop(): void;
}

/** An encrypted share's key and room id: its sockets are sealed (e2e/socket.ts). */
export interface SealWith {
  key: Uint8Array;
  room: string;
}

/** The share server's two y-websocket rooms, `<wsBase>/board` and `<wsBase>/control`. */
export class WebsocketRooms implements Rooms {
  readonly board: WebsocketProvider;
  readonly control: WebsocketProvider;
  readonly awareness: Awareness;

  constructor(
    wsBase: string,
    token: string,
    pid: string,
    docs: [Y.Doc, Y.Doc],
    on: RoomEvents,
    seal: SealWith | null = null,
  ) {
    const opts = (doc: string) => ({
      params: { token, pid },
      disableBc: true,
      maxBackoffTime: NORMAL_MAX_BACKOFF_MS,
      // y-websocket >= 3.1 stops after 4400-4499 by its own rule; the contract's "retry" column
      // decides here instead (the contract numbers "never" codes into that range, so both agree).
      shouldReconnect,
      // Sealed sockets: y-websocket speaks plain Yjs to the wrapper, the wire carries frames.
      ...(seal && {
        WebSocketPolyfill: sealedWebSocket(seal.key, seal.room, doc) as unknown as typeof WebSocket,
      }),
    });
    this.board = new WebsocketProvider(wsBase, "board", docs[0], opts("board"));
    this.control = new WebsocketProvider(wsBase, "control", docs[1], opts("control"));
    this.awareness = this.board.awareness;
    // Presence lives on the board room only; don't announce an empty state in control.
    this.control.awareness.setLocalState(null);
    this.board.on("status", (e: { status: string }) => {
      if (e.status === "connected") on.connected();
    });
    for (const provider of [this.board, this.control]) {
      provider.on("status", () => on.changed());
      provider.on("sync", () => on.changed());
      provider.on("connection-close", (event) => on.closed(event?.code ?? 0, provider.roomname));
    }
  }

  live(): boolean {
    return [this.board, this.control].every((p) => p.wsconnected && p.synced);
  }

  setSlow(slow: boolean): void {
    for (const p of [this.board, this.control]) {
      p.maxBackoffTime = slow ? SLOW_MAX_BACKOFF_MS : NORMAL_MAX_BACKOFF_MS;
      // y-websocket 3.1 waits min(2^n * 100 ms, maxBackoffTime), n counting every close since the
      // last sync (it adds this close after this handler runs): 2^8 * 100 ms caps at 15 s.
      if (slow) p.wsUnsuccessfulReconnects = Math.max(p.wsUnsuccessfulReconnects, 7);
    }
  }

  stop(): void {
    for (const p of [this.board, this.control]) {
      // Not provider.disconnect() from inside a close handler: it re-enters the close path.
      p.shouldConnect = false;
      queueMicrotask(() => p.ws?.close());
    }
  }
}
