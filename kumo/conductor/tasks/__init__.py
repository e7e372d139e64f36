"""The conductor's long-running work, one module per workflow (build, …)."""
