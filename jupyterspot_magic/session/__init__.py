"""Layer 4: a share: its state, host powers, lifecycle and the one registry."""
