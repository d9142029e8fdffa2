"""What the test cells of einsum call (filled in by the refactor)."""
