"""kumo-scheduler: picks hosts: filters, then weighers, over host state from the conductor."""
