"""kumo-manage: the operator's command line; like the conductor, it may open the database."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import prettytable
from oslo_config import cfg

from kumo import exception, servicegroup
from kumo.cmd import common

BINARY = "kumo-manage"
CONF = cfg.CONF


def _db() -> Any:
    from kumo.db import api

    return api


def db_sync(args: argparse.Namespace) -> int:
    from kumo.db import migration

    migration.db_sync(CONF.category.version)
    print(f"Database at revision {migration.db_version()}")
    return 0


def db_version(args: argparse.Namespace) -> int:
    from kumo.db import migration

    print(migration.db_version() or "empty (run kumo-manage db sync)")
    return 0


def _print(views: list[dict[str, Any]], columns: list[str], output: str) -> None:
    """JSON, or a table of each view's first ``len(columns)`` values."""
    if output == "json":
        print(json.dumps(views, indent=2, default=str))
        return
    table = prettytable.PrettyTable(columns)
    table.align = "l"
    for view in views:
        table.add_row(list(view.values())[:len(columns)])
    print(table)


def _show(rows: list[dict[str, Any]], view: Callable[[dict[str, Any]], dict[str, Any]],
          columns: list[str], args: argparse.Namespace) -> int:
    """Print ``rows`` through ``view`` in the command's --format; the exit code."""
    _print([view(row) for row in rows], columns, args.format)
    return 0


def _service_view(row: dict[str, Any]) -> dict[str, Any]:
    updated = row.get("last_seen_up") or row.get("updated_at") or row.get("created_at")
    return {
        "id": row["id"],
        "binary": row["binary"],
        "host": row["host"],
        "zone": "internal" if row["binary"] != "kumo-compute" else "nova",
        "status": "disabled" if row["disabled"] else "enabled",
        "state": "up" if servicegroup.is_up(row) else "down",
        "updated_at": updated.isoformat() if updated else None,
        "forced_down": bool(row.get("forced_down")),
        "disabled_reason": row.get("disabled_reason"),
    }


_SERVICE_COLUMNS = ["Id", "Binary", "Host", "Zone", "Status", "State", "Updated At",
                    "Forced Down"]


def service_list(args: argparse.Namespace) -> int:
    services = [_service_view(row) for row in
                _db().service_get_all(host=CONF.category.service_host,
                                       binary=CONF.category.service_binary)]
    _print(services, _SERVICE_COLUMNS, CONF.category.format)
    return 0


def service_delete(args: argparse.Namespace) -> int:
    _db().service_destroy(CONF.category.service_id)
    print(f"Service {CONF.category.service_id} deleted")
    return 0


# --- flavors -----------------------------------------------------------------------------


def _properties(pairs: list[str] | None) -> dict[str, str]:
    """``["k=v", …]`` as a dict; a pair without ``=`` is an error."""
    properties = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise exception.Invalid(reason=f"--property takes KEY=VALUE, not '{pair}'")
        properties[key] = value
    return properties


_FLAVOR_COLUMNS = ["ID", "Name", "Memory_MB", "Disk", "Ephemeral", "Swap", "VCPUs",
                   "Is_Public", "Description", "Extra_Specs"]


def _flavor_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["flavorid"], "name": row["name"], "ram": row["memory_mb"],
            "disk": row["root_gb"], "ephemeral": row["ephemeral_gb"], "swap": row["swap"],
            "vcpus": row["vcpus"], "is_public": bool(row["is_public"]),
            "description": row.get("description"), "extra_specs": row["extra_specs"]}


def flavor_create(args: argparse.Namespace) -> int:
    from kumo.db import flavors

    row = flavors.flavor_create({
        "name": args.flavor_name, "flavorid": args.flavorid, "memory_mb": args.ram,
        "vcpus": args.vcpus, "root_gb": args.disk, "ephemeral_gb": args.ephemeral,
        "swap": args.swap, "is_public": not args.private, "description": args.description,
        "extra_specs": _properties(args.property), "projects": args.project or []})
    return _show([row], _flavor_view, _FLAVOR_COLUMNS, args)


def flavor_list(args: argparse.Namespace) -> int:
    from kumo.db import flavors

    return _show(flavors.flavor_get_all(), _flavor_view, _FLAVOR_COLUMNS, args)


# --- images ------------------------------------------------------------------------------

DISK_FORMATS = ["qcow2", "raw", "aki", "ari", "ami", "vmdk", "vdi", "vhd", "iso"]
CONTAINER_FORMATS = ["bare", "ovf", "aki", "ari", "ami", "ova"]
_IMAGE_COLUMNS = ["ID", "Name", "Status", "Visibility", "Disk_Format", "Size", "Checksum"]


def _image_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "status": row["status"],
            "visibility": row["visibility"], "disk_format": row["disk_format"],
            "size": row["size"], "checksum": row["checksum"], "owner": row["owner"],
            "container_format": row["container_format"], "properties": row["properties"]}


def image_import(args: argparse.Namespace) -> int:
    """Copy FILE into the local image store and register it (status active)."""
    from kumo.db import images
    from kumo.image import local

    if not os.path.isfile(args.file):
        raise exception.Invalid(reason=f"{args.file} is not a readable file")
    properties = _properties(args.property)
    row = images.image_create({
        "name": args.image_name, "status": "saving",
        "visibility": "public" if args.public else "private", "owner": args.owner,
        "disk_format": args.disk_format, "container_format": args.container_format,
        "min_disk": args.min_disk, "min_ram": args.min_ram, "properties": properties})
    try:
        written = local.LocalStore().write_file(row["id"], args.file)
    except BaseException:
        images.image_update(row["id"], {"status": "killed"})
        raise
    row = images.image_update(row["id"], {
        "status": "active", "size": written.size, "checksum": written.checksum,
        "properties": {**properties, "os_hash_algo": written.os_hash_algo,
                       "os_hash_value": written.os_hash_value}})
    return _show([row], _image_view, _IMAGE_COLUMNS, args)


def image_list(args: argparse.Namespace) -> int:
    from kumo.db import images

    return _show(images.image_get_all(), _image_view, _IMAGE_COLUMNS, args)


# --- networks (kumo-network; nova-manage network's commands) ------------------------------

_NETWORK_COLUMNS = ["ID", "Label", "CIDR", "Gateway", "Bridge", "Bridge Interface", "VLAN",
                    "Project", "DNS1", "DNS2", "Multi Host"]


def _network_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["uuid"], "label": row["label"], "cidr": row["cidr"],
            "gateway": row["gateway"], "bridge": row["bridge"],
            "bridge_interface": row["bridge_interface"], "vlan": row["vlan"],
            "project_id": row["project_id"], "dns1": row["dns1"], "dns2": row["dns2"],
            "multi_host": bool(row["multi_host"])}


def network_create(args: argparse.Namespace) -> int:
    from kumo.db import networks

    bridge = args.bridge
    if not bridge:
        bridge = f"br{args.vlan}" if args.vlan else CONF.network.flat_network_bridge
    row = networks.network_create({
        "label": args.label, "cidr": args.fixed_range_v4, "bridge": bridge,
        "bridge_interface": args.bridge_interface, "vlan": args.vlan,
        "project_id": args.project, "dns1": args.dns1, "dns2": args.dns2,
        "gateway": args.gateway, "multi_host": args.multi_host})
    return _show([row], _network_view, _NETWORK_COLUMNS, args)


def network_list(args: argparse.Namespace) -> int:
    from kumo.db import networks

    return _show(networks.network_get_all(), _network_view, _NETWORK_COLUMNS, args)


def network_delete(args: argparse.Namespace) -> int:
    from kumo.db import networks

    networks.network_delete(args.network_uuid)
    print(f"Network {args.network_uuid} deleted")
    return 0


_FLOATING_COLUMNS = ["Address", "Pool", "Interface", "Project", "Fixed IP", "Instance"]


def _floating_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"address": row["address"], "pool": row["pool"], "interface": row["interface"],
            "project_id": row["project_id"], "fixed_ip": row.get("fixed_ip"),
            "instance_uuid": row.get("instance_uuid")}


def floating_create(args: argparse.Namespace) -> int:
    from kumo.db import floating_ips

    rows = floating_ips.floating_ip_bulk_create(args.pool, args.ip_range, args.interface)
    return _show(rows, _floating_view, _FLOATING_COLUMNS, args)


def floating_list(args: argparse.Namespace) -> int:
    from kumo.db import floating_ips

    return _show(floating_ips.floating_ip_get_all(), _floating_view, _FLOATING_COLUMNS,
                 args)


def floating_delete(args: argparse.Namespace) -> int:
    from kumo.db import floating_ips

    print(f"{floating_ips.floating_ip_bulk_destroy(args.ip_range)} floating IPs deleted")
    return 0


def _add_floating_commands(subparsers: argparse._SubParsersAction) -> None:
    floating = subparsers.add_parser("floating", help="floating IP pools of kumo-network")
    cmds = floating.add_subparsers(dest="action", required=True)
    create = cmds.add_parser("create", help="add a range of addresses to a pool")
    create.add_argument("--ip-range", required=True, metavar="CIDR")
    create.add_argument("--pool", default="nova", help="pool name (default: nova)")
    create.add_argument("--interface", help="public interface (default: [network] "
                        "public_interface)")
    _add_format_option(create)
    create.set_defaults(func=floating_create)
    listing = cmds.add_parser("list", help="every floating IP")
    _add_format_option(listing)
    listing.set_defaults(func=floating_list)
    delete = cmds.add_parser("delete", help="remove a range's unallocated addresses")
    delete.add_argument("--ip-range", required=True, metavar="CIDR")
    delete.set_defaults(func=floating_delete)


def _add_network_commands(subparsers: argparse._SubParsersAction) -> None:
    network = subparsers.add_parser("network", help="fixed networks of kumo-network")
    cmds = network.add_subparsers(dest="action", required=True)
    create = cmds.add_parser("create", help="create a network and its fixed IPs")
    create.add_argument("--label", required=True, help="the network's name")
    create.add_argument("--fixed-range-v4", required=True, metavar="CIDR",
                        help="IPv4 range, e.g. 10.0.0.0/24")
    create.add_argument("--bridge", help="bridge of the network (default: "
                        "[network] flat_network_bridge, or brVLAN with --vlan)")
    create.add_argument("--bridge-interface", help="physical interface enslaved to the "
                        "bridge (with --vlan: the interface carrying the VLAN)")
    create.add_argument("--vlan", type=int, help="VLAN id (vlan manager)")
    create.add_argument("--project", help="project owning the network (default: shared)")
    create.add_argument("--gateway", help="default: the first address of the range")
    create.add_argument("--dns1")
    create.add_argument("--dns2")
    create.add_argument("--multi-host", action="store_true",
                        help="each compute host's kumo-network serves its own instances")
    _add_format_option(create)
    create.set_defaults(func=network_create)
    listing = cmds.add_parser("list", help="every network")
    _add_format_option(listing)
    listing.set_defaults(func=network_list)
    delete = cmds.add_parser("delete", help="delete a network without allocated addresses")
    delete.add_argument("network_uuid", metavar="UUID")
    delete.set_defaults(func=network_delete)


def _add_format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["table", "json"], default="table")


def _add_commands(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser("db", help="database schema")
    db_cmds = db.add_subparsers(dest="action", required=True)
    sync = db_cmds.add_parser("sync", help="create or upgrade the schema (idempotent)")
    sync.add_argument("--version", help="target revision (default: the newest)")
    sync.set_defaults(func=db_sync)
    db_cmds.add_parser("version", help="print the schema revision").set_defaults(
        func=db_version)

    svc = subparsers.add_parser("service", help="registered services")
    svc_cmds = svc.add_subparsers(dest="action", required=True)
    listing = svc_cmds.add_parser("list", help="every service with its up/down state")
    listing.add_argument("--host", dest="service_host", help="only this host's services")
    listing.add_argument("--binary", dest="service_binary", help="only this binary")
    _add_format_option(listing)
    listing.set_defaults(func=service_list)
    delete = svc_cmds.add_parser("delete", help="remove a service row")
    delete.add_argument("service_id", type=int)
    delete.set_defaults(func=service_delete)

    flavor = subparsers.add_parser("flavor", help="server sizes")
    flavor_cmds = flavor.add_subparsers(dest="action", required=True)
    create = flavor_cmds.add_parser("create", help="create a flavor")
    # Not "name": CONF.category.name is the command's own name.
    create.add_argument("flavor_name", metavar="NAME")
    create.add_argument("--ram", type=int, required=True, help="memory in MB")
    create.add_argument("--vcpus", type=int, required=True)
    create.add_argument("--disk", type=int, required=True, help="root disk in GB")
    create.add_argument("--ephemeral", type=int, default=0, help="ephemeral disk in GB")
    create.add_argument("--swap", type=int, default=0, help="swap in MB")
    create.add_argument("--id", dest="flavorid", help="the API's flavor id (default: a uuid)")
    create.add_argument("--private", action="store_true",
                        help="only for the projects given with --project")
    create.add_argument("--project", action="append",
                        help="project allowed to use a private flavor (repeatable)")
    create.add_argument("--description")
    create.add_argument("--property", action="append", metavar="KEY=VALUE",
                        help="extra spec (repeatable)")
    _add_format_option(create)
    create.set_defaults(func=flavor_create)
    flavors = flavor_cmds.add_parser("list", help="every flavor, private ones too")
    _add_format_option(flavors)
    flavors.set_defaults(func=flavor_list)

    image = subparsers.add_parser("image", help="the local image store")
    image_cmds = image.add_subparsers(dest="action", required=True)
    imp = image_cmds.add_parser("import", help="copy a file into the store as an image")
    imp.add_argument("file")
    imp.add_argument("--name", dest="image_name", required=True)
    imp.add_argument("--disk-format", choices=DISK_FORMATS, default="raw")
    imp.add_argument("--container-format", choices=CONTAINER_FORMATS, default="bare")
    imp.add_argument("--public", action="store_true", help="visible to every project")
    imp.add_argument("--owner", help="project owning a private image")
    imp.add_argument("--min-disk", type=int, default=0, help="GB")
    imp.add_argument("--min-ram", type=int, default=0, help="MB")
    imp.add_argument("--property", action="append", metavar="KEY=VALUE",
                     help="image property (repeatable)")
    _add_format_option(imp)
    imp.set_defaults(func=image_import)
    images = image_cmds.add_parser("list", help="every image")
    _add_format_option(images)
    images.set_defaults(func=image_list)
    _add_network_commands(subparsers)
    _add_floating_commands(subparsers)


def main(argv: list[str] | None = None) -> int:
    CONF.register_cli_opt(cfg.SubCommandOpt(
        "category", title="Commands", handler=_add_commands, help="kumo-manage commands"))
    common.prepare(BINARY, argv)
    try:
        return CONF.category.func(CONF.category)
    except exception.KumoException as exc:
        print(f"{BINARY}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
