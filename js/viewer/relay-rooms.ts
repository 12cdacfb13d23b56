// The two rooms on a relay (--relay; relay/relay.mjs): Hocuspocus' protocol, one websocket for
// both documents, "<room>/board" and "<room>/control", the share token in Hocuspocus' auth message
// and this browser's key as the `pid` query parameter. The relay refuses or ends a page by closing
// the whole socket with the contract's code (a per-document Hocuspocus close carries none), so
// codes are read from the socket's close event here and handed to Connection like y-websocket's.

import type * as Y from "yjs";
import { Awareness } from "y-protocols/awareness";
import {
  HocuspocusProvider,
  HocuspocusProviderWebsocket,
  WebSocketStatus,
} from "@hocuspocus/provider";
import { NORMAL_MAX_BACKOFF_MS, SLOW_MAX_BACKOFF_MS, type RoomEvents, type Rooms } from "./rooms";

const FIRST_RETRY_MS = 100; // like y-websocket's: 100 ms, doubling to NORMAL_MAX_BACKOFF_MS

/** The relay's page URL: the configured one with `pid` (relay.mjs reads it from the query). */
export function relayPageUrl(relay: string, pid: string): string {
  const url = new URL(relay);
  if (pid) url.searchParams.set("pid", pid);
  return url.href;
}

export class RelayRooms implements Rooms {
  readonly socket: HocuspocusProviderWebsocket;
  readonly board: HocuspocusProvider;
  readonly control: HocuspocusProvider;
  readonly awareness: Awareness;
  private slow = false;
  private closes = 0; // since the last time both rooms were live: the backoff's exponent

  constructor(
    relay: string,
    room: string,
    token: string,
    pid: string,
    docs: [Y.Doc, Y.Doc],
    on: RoomEvents,
  ) {
    this.socket = new HocuspocusProviderWebsocket({
      url: relayPageUrl(relay, pid),
      autoConnect: false, // one socket for both documents: connect once both are attached
      delay: FIRST_RETRY_MS,
      minDelay: 0, // its retry helper refuses a delay below minDelay (default 1 s)
      maxDelay: NORMAL_MAX_BACKOFF_MS,
      // The configured onClose runs before the socket's own close handling, which schedules the
      // next try after `delay` unless shouldConnect is false: the policy must be decided first.
      onClose: ({ event }) => {
        on.closed(event?.code ?? 0, "relay");
        this.scheduleNext();
      },
    });
    this.awareness = new Awareness(docs[0]);
    this.board = this.open(`${room}/board`, docs[0], token, this.awareness);
    // Presence lives on the board only: control has no awareness at all (relay.mjs drops it).
    this.control = this.open(`${room}/control`, docs[1], token, null);
    this.socket.on("status", () => on.changed());
    this.socket.on("connect", () => on.connected());
    for (const provider of [this.board, this.control]) {
      provider.on("synced", () => {
        if (this.live()) this.closes = 0;
        on.changed();
      });
    }
    // Not in this constructor: the first status event fires at once, and Connection's handlers
    // need this object assigned first.
    queueMicrotask(() => void this.socket.connect());
  }

  private open(name: string, document: Y.Doc, token: string, awareness: Awareness | null) {
    const provider = new HocuspocusProvider({
      websocketProvider: this.socket,
      name,
      document,
      token,
      awareness,
    });
    provider.attach(); // a shared socket: providers attach themselves only when they own it
    return provider;
  }

  live(): boolean {
    return (
      this.socket.status === WebSocketStatus.Connected && this.board.synced && this.control.synced
    );
  }

  setSlow(slow: boolean): void {
    this.slow = slow;
  }

  stop(): void {
    this.socket.shouldConnect = false; // read by the close handling that runs after ours
    queueMicrotask(() => this.socket.disconnect());
  }

  /** One schedule for the next try, ours: the socket's retry helper keeps its own backoff across
   * failed opens but restarts it after every open that got a message (the relay's refusals come
   * after the handshake), so it is cancelled and the socket's plain `delay` is set instead. */
  private scheduleNext(): void {
    this.socket.cancelWebsocketRetry?.();
    this.socket.cancelWebsocketRetry = undefined;
    const backoff = Math.min(FIRST_RETRY_MS * 2 ** this.closes, NORMAL_MAX_BACKOFF_MS);
    this.closes += 1;
    // Not setConfiguration(): with autoConnect false it also clears shouldConnect (no retry ever).
    this.socket.configuration.delay = this.slow ? SLOW_MAX_BACKOFF_MS : backoff;
  }
}
