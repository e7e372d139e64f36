"""Flavor commands: list, show, create, delete (access and extra specs: flavor_access)."""

from __future__ import annotations

import argparse

from kumo.cli.client import Client, CommandError
from kumo.cli.formatting import print_dict, print_list
from kumo.cli.lookup import find_flavor
from kumo.cli.registry import arg, command

FIELDS = ["id", "name", "ram", "disk", "OS-FLV-EXT-DATA:ephemeral", "swap", "vcpus",
          "rxtx_factor", "os-flavor-access:is_public"]
LABELS = ["ID", "Name", "Memory_MiB", "Disk", "Ephemeral", "Swap", "VCPUs", "RXTX_Factor",
          "Is_Public"]
# Microversion 2.102 dropped rxtx_factor from flavors.
RXTX_GONE = "2.102"


def columns(client: Client) -> tuple[list[str], list[str]]:
    """The flavor table's fields and labels at the client's microversion."""
    if client.api_version_at_least(RXTX_GONE):
        return ([f for f in FIELDS if f != "rxtx_factor"],
                [label for label in LABELS if label != "RXTX_Factor"])
    return FIELDS, LABELS


@command("flavor-list", arg("--all", action="store_true",
                            help="public and private flavors (admin)"))
def do_flavor_list(client: Client, args: argparse.Namespace) -> None:
    """List flavors."""
    suffix = "?is_public=None" if args.all else ""
    print_list(client.get("/flavors/detail" + suffix)["flavors"], *columns(client))


@command("flavor-show", arg("flavor", metavar="<flavor>"))
def do_flavor_show(client: Client, args: argparse.Namespace) -> None:
    """Show a flavor."""
    flavor = find_flavor(client, args.flavor)
    print_dict({k: v for k, v in flavor.items() if k != "links"})


@command("flavor-create",
         arg("name", metavar="<name>"), arg("id", metavar="<id>", help="'auto' for a UUID"),
         arg("ram", metavar="<ram>", type=int, help="MiB"),
         arg("disk", metavar="<disk>", type=int, help="GiB"),
         arg("vcpus", metavar="<vcpus>", type=int),
         arg("--ephemeral", type=int, default=0), arg("--swap", type=int, default=0),
         arg("--rxtx-factor", type=float, help="until microversion 2.101"),
         arg("--is-public", choices=["true", "false"], default="true"),
         arg("--description"))
def do_flavor_create(client: Client, args: argparse.Namespace) -> None:
    """Create a flavor (admin)."""
    flavor = {"name": args.name, "ram": args.ram, "disk": args.disk, "vcpus": args.vcpus,
              "OS-FLV-EXT-DATA:ephemeral": args.ephemeral, "swap": args.swap,
              "os-flavor-access:is_public": args.is_public == "true"}
    if args.rxtx_factor is not None:
        if client.api_version_at_least(RXTX_GONE):
            raise CommandError("--rxtx-factor is gone from microversion 2.102 on "
                               f"(this cloud offers {client.api_version})")
        flavor["rxtx_factor"] = args.rxtx_factor
    if args.id != "auto":
        flavor["id"] = args.id
    if args.description is not None:
        client.require("2.55", "--description")
        flavor["description"] = args.description
    created = client.post("/flavors", {"flavor": flavor})["flavor"]
    print_list([created], *columns(client))


@command("flavor-delete", arg("flavor", metavar="<flavor>"))
def do_flavor_delete(client: Client, args: argparse.Namespace) -> None:
    """Delete a flavor (admin)."""
    client.delete(f"/flavors/{find_flavor(client, args.flavor)['id']}")
