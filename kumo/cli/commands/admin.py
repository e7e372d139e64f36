"""Operator commands: versions, services, hypervisors, availability zones, aggregates."""

from __future__ import annotations

import argparse
import urllib.parse
from typing import Any

from kumo.cli.client import Client, CommandError
from kumo.cli.commands.servers import key_values
from kumo.cli.formatting import print_dict, print_list
from kumo.cli.registry import arg, command


@command("version-list")
def do_version_list(client: Client, args: argparse.Namespace) -> None:
    """List the API versions the cloud offers, with their microversion range."""
    print_list(client.versions(), ["id", "status", "updated", "min_version", "version"],
               ["Id", "Status", "Updated", "Min Version", "Max Version"])


@command("service-list", arg("--host"), arg("--binary"))
def do_service_list(client: Client, args: argparse.Namespace) -> None:
    """List the compute services and their state."""
    query = {k: v for k, v in (("host", args.host), ("binary", args.binary)) if v}
    suffix = ("?" + urllib.parse.urlencode(query)) if query else ""
    services = client.get("/os-services" + suffix)["services"]
    print_list(services, ["id", "binary", "host", "zone", "status", "state", "updated_at",
                          "disabled_reason", "forced_down"],
               ["Id", "Binary", "Host", "Zone", "Status", "State", "Updated_at",
                "Disabled Reason", "Forced down"])


def _find_service(client: Client, ref: str, binary: str | None) -> dict[str, Any]:
    """The service ``ref``: its id (a UUID from 2.53) or, with ``binary``, its host."""
    services = client.get("/os-services")["services"]
    found = [s for s in services if str(s.get("id")) == ref
             or (s.get("host") == ref and (binary is None or s.get("binary") == binary))]
    if len(found) != 1:
        raise CommandError(f"No single service matches '{ref}'"
                           + (f" with binary {binary}" if binary else "")
                           + "; give the service ID or host and binary")
    return found[0]


def _set_service(client: Client, args: argparse.Namespace, values: dict[str, Any]) -> None:
    service = _find_service(client, args.service, args.binary)
    if client.api_version_at_least("2.53"):
        updated = client.put(f"/os-services/{service['id']}", values)["service"]
    else:
        action = "disable-log-reason" if values.get("disabled_reason") else (
            "disable" if values.get("status") == "disabled" else "enable")
        body = {"host": service["host"], "binary": service["binary"]}
        if values.get("disabled_reason"):
            body["disabled_reason"] = values["disabled_reason"]
        updated = client.put(f"/os-services/{action}", body)["service"]
    print_dict(updated)


@command("service-disable", arg("service", metavar="<service id or host>"),
         arg("binary", metavar="<binary>", nargs="?", default="kumo-compute"),
         arg("--reason"))
def do_service_disable(client: Client, args: argparse.Namespace) -> None:
    """Disable a service: the scheduler sends it no new servers (admin)."""
    values: dict[str, Any] = {"status": "disabled"}
    if args.reason:
        values["disabled_reason"] = args.reason
    _set_service(client, args, values)


@command("service-enable", arg("service", metavar="<service id or host>"),
         arg("binary", metavar="<binary>", nargs="?", default="kumo-compute"))
def do_service_enable(client: Client, args: argparse.Namespace) -> None:
    """Enable a service again (admin)."""
    _set_service(client, args, {"status": "enabled"})


@command("service-force-down", arg("service", metavar="<service id or host>"),
         arg("binary", metavar="<binary>", nargs="?", default="kumo-compute"),
         arg("--unset", action="store_true"))
def do_service_force_down(client: Client, args: argparse.Namespace) -> None:
    """Mark a service as down now, or clear that mark (admin)."""
    _set_service(client, args, {"forced_down": not args.unset})


@command("service-delete", arg("service", metavar="<service id>"))
def do_service_delete(client: Client, args: argparse.Namespace) -> None:
    """Delete a service record (admin)."""
    client.delete(f"/os-services/{args.service}")


# The last microversion with hypervisors' resource figures and their statistics.
HYPERVISOR_FIGURES_MAX = "2.87"


@command("hypervisor-list", arg("--matching", help="hypervisor hostnames containing this"))
def do_hypervisor_list(client: Client, args: argparse.Namespace) -> None:
    """List hypervisors (compute nodes)."""
    if args.matching:
        suffix = "?" + urllib.parse.urlencode({"hypervisor_hostname_pattern": args.matching})
    else:
        suffix = ""
    hypervisors = client.get("/os-hypervisors/detail" + suffix)["hypervisors"]
    print_list(hypervisors, ["id", "hypervisor_hostname", "state", "status", "host_ip",
                             "hypervisor_type"],
               ["ID", "Hypervisor hostname", "State", "Status", "Host IP", "Type"])


@command("hypervisor-show", arg("hypervisor", metavar="<hypervisor id or hostname>"))
def do_hypervisor_show(client: Client, args: argparse.Namespace) -> None:
    """Show a hypervisor."""
    hypervisors = client.get("/os-hypervisors/detail")["hypervisors"]
    found = [h for h in hypervisors if args.hypervisor in
             (str(h.get("id")), h.get("hypervisor_hostname"))]
    if not found:
        raise CommandError(f"No hypervisor matching '{args.hypervisor}'")
    # At 2.87 at most: 2.88 dropped the resource figures (vcpus, memory_mb, ...).
    shown = client.get(f"/os-hypervisors/{found[0]['id']}",
                       microversion=client.capped(HYPERVISOR_FIGURES_MAX))["hypervisor"]
    print_dict(shown)


@command("hypervisor-stats")
def do_hypervisor_stats(client: Client, args: argparse.Namespace) -> None:
    """Totals over every hypervisor."""
    # Removed in 2.88: asked for at 2.87 at most.
    print_dict(client.get("/os-hypervisors/statistics", microversion=client.capped(
        HYPERVISOR_FIGURES_MAX))["hypervisor_statistics"])


@command("availability-zone-list")
def do_availability_zone_list(client: Client, args: argparse.Namespace) -> None:
    """List availability zones (with their hosts and services, for admins)."""
    try:
        zones = client.get("/os-availability-zone/detail")["availabilityZoneInfo"]
    except CommandError:
        zones = client.get("/os-availability-zone")["availabilityZoneInfo"]
    rows = []
    for zone in zones:
        state = "available" if (zone.get("zoneState") or {}).get("available") else \
            "not available"
        rows.append({"name": zone.get("zoneName"), "status": state})
        for host, services in sorted((zone.get("hosts") or {}).items()):
            rows.append({"name": f"|- {host}", "status": ""})
            for binary, info in sorted(services.items()):
                up = ":-)" if info.get("available") else "XXX"
                enabled = "enabled" if info.get("active") else "disabled"
                rows.append({"name": f"| |- {binary}",
                             "status": f"{enabled} {up} {info.get('updated_at')}"})
    print_list(rows, ["name", "status"], ["Name", "Status"])


# -- aggregates ---------------------------------------------------------------------------


def _find_aggregate(client: Client, ref: str) -> dict[str, Any]:
    aggregates = client.get("/os-aggregates")["aggregates"]
    found = [a for a in aggregates if ref in (str(a.get("id")), a.get("name"),
                                               a.get("uuid"))]
    if not found:
        raise CommandError(f"No aggregate with a name or ID of '{ref}' exists.")
    return found[0]


_AGG_FIELDS = ["id", "name", "availability_zone", "hosts", "metadata"]
_AGG_LABELS = ["Id", "Name", "Availability Zone", "Hosts", "Metadata"]


@command("aggregate-list")
def do_aggregate_list(client: Client, args: argparse.Namespace) -> None:
    """List host aggregates."""
    print_list(client.get("/os-aggregates")["aggregates"], _AGG_FIELDS[:3],
               _AGG_LABELS[:3])


@command("aggregate-create", arg("name", metavar="<name>"),
         arg("availability_zone", metavar="<availability-zone>", nargs="?"))
def do_aggregate_create(client: Client, args: argparse.Namespace) -> None:
    """Create a host aggregate (admin)."""
    body: dict[str, Any] = {"name": args.name}
    if args.availability_zone:
        body["availability_zone"] = args.availability_zone
    print_list([client.post("/os-aggregates", {"aggregate": body})["aggregate"]],
               _AGG_FIELDS, _AGG_LABELS)


@command("aggregate-show", arg("aggregate", metavar="<aggregate>"))
def do_aggregate_show(client: Client, args: argparse.Namespace) -> None:
    """Show a host aggregate."""
    aggregate = _find_aggregate(client, args.aggregate)
    print_list([client.get(f"/os-aggregates/{aggregate['id']}")["aggregate"]],
               _AGG_FIELDS, _AGG_LABELS)


@command("aggregate-delete", arg("aggregate", metavar="<aggregate>"))
def do_aggregate_delete(client: Client, args: argparse.Namespace) -> None:
    """Delete a host aggregate (admin)."""
    client.delete(f"/os-aggregates/{_find_aggregate(client, args.aggregate)['id']}")


def _aggregate_action(client: Client, ref: str, name: str, value: Any) -> None:
    aggregate = _find_aggregate(client, ref)
    updated = client.post(f"/os-aggregates/{aggregate['id']}/action", {name: value})
    print_list([updated["aggregate"]], _AGG_FIELDS, _AGG_LABELS)


@command("aggregate-add-host", arg("aggregate", metavar="<aggregate>"),
         arg("host", metavar="<host>"))
def do_aggregate_add_host(client: Client, args: argparse.Namespace) -> None:
    """Add a compute host to an aggregate (admin)."""
    _aggregate_action(client, args.aggregate, "add_host", {"host": args.host})


@command("aggregate-remove-host", arg("aggregate", metavar="<aggregate>"),
         arg("host", metavar="<host>"))
def do_aggregate_remove_host(client: Client, args: argparse.Namespace) -> None:
    """Remove a compute host from an aggregate (admin)."""
    _aggregate_action(client, args.aggregate, "remove_host", {"host": args.host})


@command("aggregate-set-metadata", arg("aggregate", metavar="<aggregate>"),
         arg("metadata", nargs="+", metavar="<key=value>",
             help="key=value to set; key alone to unset"))
def do_aggregate_set_metadata(client: Client, args: argparse.Namespace) -> None:
    """Set or unset metadata of an aggregate (admin)."""
    metadata: dict[str, Any] = {}
    for item in args.metadata:
        if "=" in item:
            metadata.update(key_values([item]))
        else:
            metadata[item] = None
    _aggregate_action(client, args.aggregate, "set_metadata", {"metadata": metadata})
