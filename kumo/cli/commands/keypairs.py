"""Keypair commands: add (generated or imported), list, show, delete."""

from __future__ import annotations

import argparse
import urllib.parse
from typing import Any

from kumo.cli.client import Client, CommandError
from kumo.cli.formatting import print_dict, print_list
from kumo.cli.registry import arg, command

# The last microversion at which the API generates a keypair.
GENERATED_MAX = "2.91"


def _user_query(args: argparse.Namespace) -> str:
    return ("?" + urllib.parse.urlencode({"user_id": args.user})) if args.user else ""


@command("keypair-add", arg("name", metavar="<name>"),
         arg("--pub-key", metavar="FILE", help="import this public key instead of generating"),
         arg("--key-type", choices=["ssh", "x509"]),
         arg("--user", help="the user the keypair is for (admin)"))
def do_keypair_add(client: Client, args: argparse.Namespace) -> None:
    """Create a keypair; a generated private key is printed once."""
    keypair: dict[str, Any] = {"name": args.name}
    if args.pub_key:
        try:
            with open(args.pub_key) as handle:
                keypair["public_key"] = handle.read()
        except OSError as exc:
            raise CommandError(f"Can't open '{args.pub_key}': {exc}") from exc
    if args.key_type:
        keypair["type"] = args.key_type
    if args.user:
        keypair["user_id"] = args.user
    # 2.92 stopped generating keys: without --pub-key, ask at 2.91 at most.
    version = None if "public_key" in keypair else client.capped(GENERATED_MAX)
    created = client.request("POST", "/os-keypairs", {"keypair": keypair},
                             microversion=version)["keypair"]
    if created.get("private_key"):
        print(created["private_key"], end="")


@command("keypair-list", arg("--user", help="list another user's keypairs (admin)"))
def do_keypair_list(client: Client, args: argparse.Namespace) -> None:
    """List keypairs."""
    keypairs = [entry["keypair"] for entry in
                client.get("/os-keypairs" + _user_query(args))["keypairs"]]
    print_list(keypairs, ["name", "type", "fingerprint"], ["Name", "Type", "Fingerprint"])


@command("keypair-show", arg("name", metavar="<name>"), arg("--user"))
def do_keypair_show(client: Client, args: argparse.Namespace) -> None:
    """Show a keypair."""
    name = urllib.parse.quote(args.name, safe="")
    print_dict(client.get(f"/os-keypairs/{name}" + _user_query(args))["keypair"])


@command("keypair-delete", arg("name", metavar="<name>"), arg("--user"))
def do_keypair_delete(client: Client, args: argparse.Namespace) -> None:
    """Delete a keypair."""
    name = urllib.parse.quote(args.name, safe="")
    client.delete(f"/os-keypairs/{name}" + _user_query(args))
