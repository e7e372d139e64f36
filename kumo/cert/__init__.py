"""kumo-cert: the X.509 certificate authority for projects, users and EC2 bundles."""
