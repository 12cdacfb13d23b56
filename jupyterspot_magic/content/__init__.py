"""Layer 1: finding the notebook, rendering it, the live cell content, the export."""
