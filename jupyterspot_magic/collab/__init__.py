"""Layer 1: the Yjs protocol: decoder and board schema, the room, the lead policy."""
