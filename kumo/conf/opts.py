"""Entry point for oslo-config-generator: every kumo option, grouped."""

from kumo.conf import _MODULES


def list_opts() -> list:
    grouped: dict = {}
    for module in _MODULES:
        for group, opts in module.list_opts().items():
            grouped.setdefault(group, []).extend(opts)
    return list(grouped.items())
