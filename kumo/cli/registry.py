"""How a CLI command is declared: ``@command("name", arg(...), ...)`` on ``f(client, args)``.

Every module of :mod:`kumo.cli.commands` declares its commands this way;
:mod:`kumo.cli.main` turns the registry into argparse sub-commands.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kumo.cli.client import Client

Handler = Callable[[Client, argparse.Namespace], None]


@dataclass(frozen=True)
class Argument:
    flags: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    arguments: tuple[Argument, ...]

    @property
    def help(self) -> str:
        return (self.handler.__doc__ or "").strip().splitlines()[0] if self.handler.__doc__ \
            else ""


COMMANDS: dict[str, Command] = {}


def arg(*flags: str, **options: Any) -> Argument:
    """An argparse argument of a command (same signature as ``add_argument``)."""
    return Argument(flags, options)


def command(name: str, *arguments: Argument) -> Callable[[Handler], Handler]:
    """Register the decorated function as the sub-command ``name``."""

    def register(handler: Handler) -> Handler:
        if name in COMMANDS:
            raise ValueError(f"command {name!r} declared twice")
        COMMANDS[name] = Command(name, handler, arguments)
        return handler

    return register
