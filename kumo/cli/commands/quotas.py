"""Quota, limit and usage commands."""

from __future__ import annotations

import argparse
import datetime
import urllib.parse
from typing import Any

from kumo.cli.client import Client, CommandError
from kumo.cli.formatting import print_list
from kumo.cli.registry import arg, command

# The os-quota-sets resources ``quota-update`` can set, by option name.
QUOTA_OPTIONS = ("instances", "cores", "ram", "metadata_items", "key_pairs", "server_groups",
                 "server_group_members", "injected_files", "injected_file_content_bytes",
                 "injected_file_path_bytes")


def _project(client: Client, args: argparse.Namespace) -> str:
    project = getattr(args, "tenant", None) or client.project_id
    if not project:
        raise CommandError("which project? give --tenant")
    return project


def _quota_rows(quota_set: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"quota": key, "limit": value} for key, value in sorted(quota_set.items())
            if key != "id"]


@command("quota-show", arg("--tenant", help="project ID (default: yours)"),
         arg("--user", help="a user's quota within the project"))
def do_quota_show(client: Client, args: argparse.Namespace) -> None:
    """Show a project's (or a user's) quotas."""
    query = ("?" + urllib.parse.urlencode({"user_id": args.user})) if args.user else ""
    quota_set = client.get(f"/os-quota-sets/{_project(client, args)}{query}")["quota_set"]
    print_list(_quota_rows(quota_set), ["quota", "limit"], ["Quota", "Limit"])


@command("quota-defaults", arg("--tenant"))
def do_quota_defaults(client: Client, args: argparse.Namespace) -> None:
    """Show the default quotas."""
    quota_set = client.get(f"/os-quota-sets/{_project(client, args)}/defaults")["quota_set"]
    print_list(_quota_rows(quota_set), ["quota", "limit"], ["Quota", "Limit"])


@command("quota-update", arg("tenant", metavar="<tenant-id>"), arg("--user"),
         arg("--force", action="store_true", help="even below what is in use"),
         *[arg(f"--{name.replace('_', '-')}", dest=name, type=int) for name in QUOTA_OPTIONS])
def do_quota_update(client: Client, args: argparse.Namespace) -> None:
    """Update a project's (or user's) quotas (admin)."""
    quota_set: dict[str, Any] = {name: getattr(args, name) for name in QUOTA_OPTIONS
                                 if getattr(args, name) is not None}
    if not quota_set:
        raise CommandError("nothing to update: give at least one --<resource> value")
    if args.force:
        quota_set["force"] = True
    query = ("?" + urllib.parse.urlencode({"user_id": args.user})) if args.user else ""
    updated = client.put(f"/os-quota-sets/{args.tenant}{query}", {"quota_set": quota_set})
    print_list(_quota_rows(updated["quota_set"]), ["quota", "limit"], ["Quota", "Limit"])


@command("quota-delete", arg("tenant", metavar="<tenant-id>"), arg("--user"))
def do_quota_delete(client: Client, args: argparse.Namespace) -> None:
    """Reset a project's (or user's) quotas to the defaults (admin)."""
    query = ("?" + urllib.parse.urlencode({"user_id": args.user})) if args.user else ""
    client.delete(f"/os-quota-sets/{args.tenant}{query}")


@command("quota-class-show", arg("class_name", metavar="<class>", nargs="?",
                                  default="default", help="(default: default)"))
def do_quota_class_show(client: Client, args: argparse.Namespace) -> None:
    """Show the quotas of a quota class (``default`` gives every project its defaults)."""
    quota_set = client.get(f"/os-quota-class-sets/{urllib.parse.quote(args.class_name)}")
    print_list(_quota_rows(quota_set["quota_class_set"]), ["quota", "limit"],
               ["Quota", "Limit"])


@command("quota-class-update", arg("class_name", metavar="<class>"),
         *[arg(f"--{name.replace('_', '-')}", dest=name, type=int) for name in QUOTA_OPTIONS])
def do_quota_class_update(client: Client, args: argparse.Namespace) -> None:
    """Update the quotas of a quota class (admin)."""
    values = {name: getattr(args, name) for name in QUOTA_OPTIONS
              if getattr(args, name) is not None}
    if not values:
        raise CommandError("nothing to update: give at least one --<resource> value")
    updated = client.put(f"/os-quota-class-sets/{urllib.parse.quote(args.class_name)}",
                         {"quota_class_set": values})
    print_list(_quota_rows(updated["quota_class_set"]), ["quota", "limit"],
               ["Quota", "Limit"])


def _absolute(client: Client, args: argparse.Namespace) -> dict[str, Any]:
    query = ("?" + urllib.parse.urlencode({"tenant_id": args.tenant})) if args.tenant else ""
    return client.get("/limits" + query)["limits"]["absolute"]


@command("absolute-limits", arg("--tenant", help="another project's limits (admin)"))
def do_absolute_limits(client: Client, args: argparse.Namespace) -> None:
    """Show absolute limits and what is used of them."""
    rows = [{"name": k, "value": v} for k, v in sorted(_absolute(client, args).items())]
    print_list(rows, ["name", "value"], ["Name", "Value"])


@command("limits", arg("--tenant", help="another project's limits (admin)"))
def do_limits(client: Client, args: argparse.Namespace) -> None:
    """Show the limits (used against max) of a project."""
    absolute = _absolute(client, args)
    rows = []
    for key, value in sorted(absolute.items()):
        if key.startswith("max"):
            resource = key[3:].removeprefix("Total").removesuffix("Size")
            used = absolute.get(f"total{resource}Used")
            rows.append({"name": resource, "used": used, "max": value})
    print_list(rows, ["name", "used", "max"], ["Name", "Used", "Max"])


def _period(args: argparse.Namespace) -> str:
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    start = args.start or (now - datetime.timedelta(days=4 * 7)).isoformat()
    end = args.end or (now + datetime.timedelta(days=1)).isoformat()
    return urllib.parse.urlencode({"start": start, "end": end})


_USAGE_FIELDS = ["tenant_id", "servers", "total_memory_mb_usage",
                 "total_vcpus_usage", "total_local_gb_usage"]
_USAGE_LABELS = ["Tenant ID", "Servers", "RAM MiB-Hours", "CPU Hours", "Disk GiB-Hours"]


def _usage_rows(usages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**usage, "servers": len(usage.get("server_usages") or [])}
            for usage in usages]


@command("usage-list", arg("--start"), arg("--end"))
def do_usage_list(client: Client, args: argparse.Namespace) -> None:
    """Usage of every project over a period (admin; default: the last four weeks)."""
    usages = client.get(f"/os-simple-tenant-usage?detailed=1&{_period(args)}")["tenant_usages"]
    print_list(_usage_rows(usages), _USAGE_FIELDS, _USAGE_LABELS)


@command("usage", arg("--tenant"), arg("--start"), arg("--end"))
def do_usage(client: Client, args: argparse.Namespace) -> None:
    """Usage of one project over a period (default: yours, the last four weeks)."""
    usage = client.get(f"/os-simple-tenant-usage/{_project(client, args)}?{_period(args)}")
    print_list(_usage_rows([usage["tenant_usage"]]) if usage["tenant_usage"] else [],
               _USAGE_FIELDS, _USAGE_LABELS)
