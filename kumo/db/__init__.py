"""SQL database layer; imported by kumo.conductor and kumo.cmd.manage only."""
