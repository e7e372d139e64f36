"""Console scripts: one module per kumo command."""
