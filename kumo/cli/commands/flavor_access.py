"""Flavor access (private flavors shared with projects), extra specs and description."""

from __future__ import annotations

import argparse
import urllib.parse

from kumo.cli.client import Client
from kumo.cli.commands.servers import key_values
from kumo.cli.formatting import print_dict, print_list
from kumo.cli.lookup import find_flavor
from kumo.cli.registry import arg, command

_ACCESS_FIELDS = ["flavor_id", "tenant_id"]
_ACCESS_LABELS = ["Flavor_ID", "Tenant_ID"]


def _flavor_id(client: Client, ref: str) -> str:
    return urllib.parse.quote(find_flavor(client, ref)["id"], safe="")


@command("flavor-access-list", arg("--flavor", required=True, metavar="<flavor>"))
def do_flavor_access_list(client: Client, args: argparse.Namespace) -> None:
    """List the projects a private flavor is shared with (admin)."""
    access = client.get(f"/flavors/{_flavor_id(client, args.flavor)}/os-flavor-access")
    print_list(access["flavor_access"], _ACCESS_FIELDS, _ACCESS_LABELS)


def _access_action(client: Client, args: argparse.Namespace, action: str) -> None:
    reply = client.post(f"/flavors/{_flavor_id(client, args.flavor)}/action",
                        {action: {"tenant": args.tenant}})
    print_list(reply["flavor_access"], _ACCESS_FIELDS, _ACCESS_LABELS)


@command("flavor-access-add", arg("flavor", metavar="<flavor>"),
         arg("tenant", metavar="<tenant-id>"))
def do_flavor_access_add(client: Client, args: argparse.Namespace) -> None:
    """Let a project use a private flavor (admin)."""
    _access_action(client, args, "addTenantAccess")


@command("flavor-access-remove", arg("flavor", metavar="<flavor>"),
         arg("tenant", metavar="<tenant-id>"))
def do_flavor_access_remove(client: Client, args: argparse.Namespace) -> None:
    """Stop a project using a private flavor (admin)."""
    _access_action(client, args, "removeTenantAccess")


@command("flavor-key", arg("flavor", metavar="<flavor>"),
         arg("action", choices=["set", "unset"]),
         arg("metadata", nargs="+", metavar="<key[=value]>"))
def do_flavor_key(client: Client, args: argparse.Namespace) -> None:
    """Set or unset extra specs of a flavor (admin)."""
    flavor_id = _flavor_id(client, args.flavor)
    if args.action == "set":
        client.post(f"/flavors/{flavor_id}/os-extra_specs",
                    {"extra_specs": key_values(args.metadata, "extra spec")})
        return
    for key in args.metadata:
        client.delete(f"/flavors/{flavor_id}/os-extra_specs/{urllib.parse.quote(key, safe='')}")


@command("flavor-update", arg("flavor", metavar="<flavor>"),
         arg("description", metavar="<description>"))
def do_flavor_update(client: Client, args: argparse.Namespace) -> None:
    """Change a flavor's description (admin; microversion 2.55 or later)."""
    client.require("2.55", "flavor-update")
    updated = client.put(f"/flavors/{_flavor_id(client, args.flavor)}",
                         {"flavor": {"description": args.description}})["flavor"]
    print_dict({k: v for k, v in updated.items() if k != "links"})
