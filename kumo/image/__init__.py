"""Image service client: Glance v2 through keystoneauth1, or the local image store."""
