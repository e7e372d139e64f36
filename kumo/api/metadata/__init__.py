"""The metadata API instances query at 169.254.169.254."""
