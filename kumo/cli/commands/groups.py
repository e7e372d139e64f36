"""Server group commands: create, list, show, delete."""

from __future__ import annotations

import argparse
from typing import Any

from kumo.cli.client import Client, CommandError
from kumo.cli.formatting import print_list
from kumo.cli.registry import arg, command

POLICIES = ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")


def _rows(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**g, "policy": g.get("policy") or ", ".join(g.get("policies") or [])}
            for g in groups]


_FIELDS = ["id", "name", "project_id", "user_id", "policy", "rules", "members"]
_LABELS = ["Id", "Name", "Project Id", "User Id", "Policy", "Rules", "Members"]


def _find(client: Client, ref: str) -> dict[str, Any]:
    groups = client.get("/os-server-groups")["server_groups"]
    found = [g for g in groups if ref in (g.get("id"), g.get("name"))]
    if len(found) != 1:
        raise CommandError(f"No single server group with a name or ID of '{ref}'.")
    return found[0]


@command("server-group-create", arg("name", metavar="<name>"),
         arg("policy", metavar="<policy>", choices=POLICIES),
         arg("--rule", action="append", metavar="max_server_per_host=N",
             help="anti-affinity's rule (microversion 2.64)"))
def do_server_group_create(client: Client, args: argparse.Namespace) -> None:
    """Create a server group."""
    group: dict[str, Any] = {"name": args.name}
    if client.api_version_at_least("2.64"):
        group["policy"] = args.policy
        rules = {}
        for rule in args.rule or []:
            key, _, value = rule.partition("=")
            rules[key] = int(value) if value.isdigit() else value
        if rules:
            group["rules"] = rules
    else:
        if args.rule:
            raise CommandError("--rule needs microversion 2.64 or later")
        group["policies"] = [args.policy]
    created = client.post("/os-server-groups", {"server_group": group})["server_group"]
    print_list(_rows([created]), _FIELDS, _LABELS)


@command("server-group-list", arg("--all-projects", action="store_true"))
def do_server_group_list(client: Client, args: argparse.Namespace) -> None:
    """List server groups."""
    suffix = "?all_projects=True" if args.all_projects else ""
    print_list(_rows(client.get("/os-server-groups" + suffix)["server_groups"]),
               _FIELDS, _LABELS)


@command("server-group-get", arg("group", metavar="<group>"))
def do_server_group_get(client: Client, args: argparse.Namespace) -> None:
    """Show a server group."""
    group = _find(client, args.group)
    shown = client.get(f"/os-server-groups/{group['id']}")["server_group"]
    print_list(_rows([shown]), _FIELDS, _LABELS)


@command("server-group-delete", arg("groups", metavar="<group>", nargs="+"))
def do_server_group_delete(client: Client, args: argparse.Namespace) -> None:
    """Delete server groups."""
    for ref in args.groups:
        client.delete(f"/os-server-groups/{_find(client, ref)['id']}")
        print(f"Server group {ref} has been successfully deleted.")
