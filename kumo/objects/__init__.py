"""Versioned objects: the data that travels between services over RPC."""


def register_all() -> None:
    """Import every object module so the registry knows each class."""
    __import__("kumo.objects.service")
