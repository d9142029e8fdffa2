"""What the test cells of mlp call (filled in by the refactor)."""
