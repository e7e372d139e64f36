"""The `kumo` user CLI, nova-style, over the REST API."""
