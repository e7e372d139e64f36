"""The CLI's commands, one module per area; importing them fills the registry."""

from kumo.cli.commands import (  # noqa: F401  (imported for their @command declarations)
    admin,
    flavor_access,
    flavors,
    groups,
    images,
    keypairs,
    moves,
    passwords,
    quotas,
    servers,
)
