"""What the test cells of forward_mode call (filled in by the refactor)."""
