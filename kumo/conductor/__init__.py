"""kumo-conductor: the only service that opens the SQL database."""
