"""kumo-manage: the operator's command line; like the conductor, it may open the database."""

from __future__ import annotations

import argparse
import json
import sys
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
        "disabled_reason": row.get("disabled_reason"),
        "forced_down": bool(row.get("forced_down")),
    }


def service_list(args: argparse.Namespace) -> int:
    services = [_service_view(row) for row in
                _db().service_get_all(host=CONF.category.service_host,
                                       binary=CONF.category.service_binary)]
    if CONF.category.format == "json":
        print(json.dumps(services, indent=2))
        return 0
    table = prettytable.PrettyTable(
        ["Id", "Binary", "Host", "Zone", "Status", "State", "Updated At", "Forced Down"])
    table.align = "l"
    for svc in services:
        table.add_row([svc["id"], svc["binary"], svc["host"], svc["zone"], svc["status"],
                       svc["state"], svc["updated_at"], svc["forced_down"]])
    print(table)
    return 0


def service_delete(args: argparse.Namespace) -> int:
    _db().service_destroy(CONF.category.service_id)
    print(f"Service {CONF.category.service_id} deleted")
    return 0


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
    listing.add_argument("--format", choices=["table", "json"], default="table")
    listing.set_defaults(func=service_list)
    delete = svc_cmds.add_parser("delete", help="remove a service row")
    delete.add_argument("service_id", type=int)
    delete.set_defaults(func=service_delete)


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
