"""What the test cells of backprop call (filled in by the refactor)."""
