"""What the test cells of derivatives call (filled in by the refactor)."""
