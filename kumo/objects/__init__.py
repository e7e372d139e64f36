"""Versioned objects: the data that travels between services over RPC."""


def register_all() -> None:
    """Import every object module so the registry knows each class."""
    for module in ("service", "flavor", "compute_node", "instance", "image"):
        __import__(f"kumo.objects.{module}")
