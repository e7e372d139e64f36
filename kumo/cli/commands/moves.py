"""Moving and editing servers: migrate, live-migration, update/rename."""

from __future__ import annotations

import argparse
from typing import Any

from kumo.cli.client import Client, CommandError
from kumo.cli.commands.servers import poll_server, server_view
from kumo.cli.formatting import print_dict
from kumo.cli.lookup import find_server
from kumo.cli.registry import arg, command


@command("migrate", arg("server", metavar="<server>"),
         arg("--host", help="the destination compute host (admin; microversion 2.56)"),
         arg("--poll", action="store_true"))
def do_migrate(client: Client, args: argparse.Namespace) -> None:
    """Cold-migrate a server to another host (admin); confirm or revert it afterwards."""
    server = find_server(client, args.server, all_tenants=True)
    value: dict[str, Any] | None = None
    if args.host:
        client.require("2.56", "--host")
        value = {"host": args.host}
    client.action(server["id"], "migrate", value)
    if args.poll:
        poll_server(client, server["id"], "Server migrating...",
                    final=("VERIFY_RESIZE", "ACTIVE"))


@command("live-migration", arg("server", metavar="<server>"),
         arg("host", metavar="<host>", nargs="?", help="destination (default: the scheduler's)"),
         arg("--block-migrate", action="store_true",
             help="copy the disks too (default: auto from 2.25, else shared storage)"),
         arg("--poll", action="store_true"))
def do_live_migration(client: Client, args: argparse.Namespace) -> None:
    """Live-migrate a running server to another host (admin)."""
    server = find_server(client, args.server, all_tenants=True)
    value: dict[str, Any] = {"host": args.host}
    if client.api_version_at_least("2.25"):
        value["block_migration"] = True if args.block_migrate else "auto"
    else:
        value.update(block_migration=args.block_migrate, disk_over_commit=False)
    client.action(server["id"], "os-migrateLive", value)
    if args.poll:
        poll_server(client, server["id"], "Server migrating...")


@command("update", arg("server", metavar="<server>"), arg("--name"),
         arg("--description", help="(microversion 2.19)"),
         arg("--hostname", help="(microversion 2.90)"))
def do_update(client: Client, args: argparse.Namespace) -> None:
    """Change a server's name, description or hostname."""
    changes: dict[str, Any] = {}
    if args.name:
        changes["name"] = args.name
    if args.description is not None:
        client.require("2.19", "--description")
        changes["description"] = args.description
    if args.hostname:
        client.require("2.90", "--hostname")
        changes["hostname"] = args.hostname
    if not changes:
        raise CommandError("nothing to update: give --name, --description or --hostname")
    server = find_server(client, args.server)
    updated = client.put(f"/servers/{server['id']}", {"server": changes})["server"]
    print_dict(server_view(updated))


@command("rename", arg("server", metavar="<server>"), arg("name", metavar="<name>"))
def do_rename(client: Client, args: argparse.Namespace) -> None:
    """Rename a server."""
    server = find_server(client, args.server)
    client.put(f"/servers/{server['id']}", {"server": {"name": args.name}})
