"""Layer 0: contracts and helpers with no import from the package."""
