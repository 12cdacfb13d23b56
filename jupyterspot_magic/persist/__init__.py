"""Layer 2: boards kept on disk as they change."""
