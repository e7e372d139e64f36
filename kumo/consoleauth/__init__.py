"""kumo-consoleauth: issues and checks short-lived console tokens."""
