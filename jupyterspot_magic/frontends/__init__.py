"""Layer 5: the magic, the CLI, the notebook widget and link display."""
