"""Layer 1: the Yjs protocol, from bytes to rooms.

- close_codes.py: the close codes the server sends (contracts/close_codes.json).
- codec.py: the Yjs v1 update decoder and lib0 primitives (strict, bounded, pure).
- schema.py: what the board and control documents may hold (contracts/shape.json for shapes),
  the index of integrated structs and the Validator; awareness state checks.
- messages.py: y-websocket's sync and awareness messages and the server's websocket frame.
- room.py: connections and rooms (queues, limits, awareness relay, paced initial sync).
- lead.py: scroll leadership, its policy table (WHO_MAY) and the leader's grace.
"""
