"""Server commands: boot, list, show, delete, the actions, metadata, instance actions."""

from __future__ import annotations

import argparse
import base64
import time
import urllib.parse
from typing import Any

from kumo.cli.client import Client, CommandError
from kumo.cli.formatting import ProgressBar, print_dict, print_list
from kumo.cli.lookup import find_flavor, find_image, find_server
from kumo.cli.registry import arg, command

# How far along a build is, by task state, when the server reports no progress.
_BUILD_PROGRESS = {"scheduling": 10, "block_device_mapping": 25, "networking": 40,
                   "spawning": 60, "rebuilding": 30, "rebuild_spawning": 60,
                   "resize_prep": 10, "resize_migrating": 30, "resize_migrated": 50,
                   "resize_finish": 80}
POLL_INTERVAL = 0.5
POLL_TIMEOUT = 600


def key_values(pairs: list[str] | None, what: str = "metadata") -> dict[str, str]:
    """``["k=v", ...]`` as a dict; CommandError for an item without ``=``."""
    result: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CommandError(f"{what} must be key=value, not {pair!r}")
        result[key] = value
    return result


def parse_nic(spec: str) -> Any:
    """``--nic`` as the API's networks entry: ``none``/``auto`` or ``net-id=…,v4-fixed-ip=…``."""
    if spec in ("none", "auto"):
        return spec
    nic: dict[str, str] = {}
    names = {"net-id": "uuid", "v4-fixed-ip": "fixed_ip", "v6-fixed-ip": "fixed_ip",
             "port-id": "port", "tag": "tag"}
    for item in spec.split(","):
        key, sep, value = item.partition("=")
        if not sep or key not in names:
            raise CommandError(f"Invalid nic argument '{spec}': expected none, auto or "
                               "net-id=<uuid>[,v4-fixed-ip=<ip>][,port-id=<uuid>]")
        nic[names[key]] = value
    return nic


def networks_of(nics: list[str] | None) -> Any:
    """The ``networks`` of a boot request from the ``--nic`` options (None: not sent)."""
    if not nics:
        return None
    parsed = [parse_nic(spec) for spec in nics]
    words = [nic for nic in parsed if isinstance(nic, str)]
    if words:
        if len(parsed) > 1:
            raise CommandError("--nic none and --nic auto cannot be combined with other --nic")
        return words[0]
    return parsed


def build_boot_request(args: argparse.Namespace, image_id: str | None,
                       flavor_id: str, networks_required: bool = False) -> dict[str, Any]:
    """The ``POST /servers`` body of ``kumo boot``.

    From microversion 2.37 the API wants ``networks``; without ``--nic`` the
    CLI then asks for ``auto`` (the project's networks), as the nova client does.
    """
    server: dict[str, Any] = {"name": args.name, "flavorRef": flavor_id}
    if image_id:
        server["imageRef"] = image_id
    if args.key_name:
        server["key_name"] = args.key_name
    networks = networks_of(args.nic)
    if networks is None and networks_required:
        networks = "auto"
    if networks is not None:
        server["networks"] = networks
    if args.min_count is not None or args.max_count is not None:
        server["min_count"] = args.min_count or 1
        server["max_count"] = args.max_count or server["min_count"]
        if server["max_count"] < server["min_count"]:
            raise CommandError("max_count cannot be less than min_count")
    if args.availability_zone:
        server["availability_zone"] = args.availability_zone
    if args.meta:
        server["metadata"] = key_values(args.meta)
    if args.user_data:
        try:
            with open(args.user_data, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise CommandError(f"Can't open '{args.user_data}': {exc}") from exc
        server["user_data"] = base64.b64encode(data).decode()
    body: dict[str, Any] = {"server": server}
    hints = key_values(args.hint, "hint")
    if hints:
        body["os:scheduler_hints"] = hints
    return body


def _addresses(server: dict[str, Any]) -> str:
    parts = []
    for network, addresses in sorted((server.get("addresses") or {}).items()):
        parts.append(f"{network}=" + ", ".join(a.get("addr", "") for a in addresses))
    return "; ".join(parts)


def server_view(server: dict[str, Any]) -> dict[str, Any]:
    """A server as ``kumo show`` prints it: flavor and image by name, no links."""
    shown = {k: v for k, v in server.items() if k not in ("links", "addresses")}
    flavor = server.get("flavor") or {}
    if "original_name" in flavor:
        shown["flavor"] = flavor["original_name"]
    elif flavor.get("id"):
        shown["flavor"] = flavor["id"]
    image = server.get("image")
    shown["image"] = image.get("id") if isinstance(image, dict) else (
        image or "Attempt to boot from volume - no image supplied")
    for network, addresses in (server.get("addresses") or {}).items():
        shown[f"{network} network"] = ", ".join(a.get("addr", "") for a in addresses)
    return shown


def poll_server(client: Client, server_id: str, label: str, final: tuple[str, ...] = (
        "ACTIVE",), interval: float = POLL_INTERVAL, timeout: float = POLL_TIMEOUT,
        bar: ProgressBar | None = None) -> dict[str, Any]:
    """Redraw a progress bar until the server reaches one of ``final`` (or ERROR).

    :raises CommandError: the server went to ERROR (with its fault), or
        ``timeout`` passed.
    """
    bar = bar or ProgressBar(label)
    deadline = time.monotonic() + timeout
    try:
        while True:
            server = client.get(f"/servers/{server_id}")["server"]
            status = server.get("status", "")
            task = server.get("OS-EXT-STS:task_state")
            if status in final:
                bar.update(100, status)
                return server
            if status == "ERROR":
                bar.update(100, status)
                fault = (server.get("fault") or {}).get("message", "")
                raise CommandError(f"Server {server_id} went to ERROR"
                                   + (f": {fault}" if fault else ""))
            progress = server.get("progress") or _BUILD_PROGRESS.get(task or "", 5)
            bar.update(progress, f"{status}" + (f" ({task})" if task else ""))
            if time.monotonic() >= deadline:
                raise CommandError(f"Server {server_id} did not become "
                                   f"{'/'.join(final)} within {timeout:g}s")
            time.sleep(interval)
    finally:
        bar.finish()


@command("boot",
         arg("name", metavar="<name>"),
         arg("--flavor", required=True, help="flavor name or ID"),
         arg("--image", help="image name or ID"),
         arg("--key-name"),
         arg("--nic", action="append",
             help="none, auto or net-id=<uuid>[,v4-fixed-ip=<ip>] (repeatable)"),
         arg("--min-count", type=int),
         arg("--max-count", type=int),
         arg("--availability-zone"),
         arg("--hint", action="append", metavar="key=value",
             help="scheduler hint, e.g. group=<server group uuid>"),
         arg("--meta", action="append", metavar="key=value"),
         arg("--user-data", metavar="FILE"),
         arg("--poll", action="store_true", help="show progress until ACTIVE or ERROR"))
def do_boot(client: Client, args: argparse.Namespace) -> None:
    """Boot a new server."""
    flavor = find_flavor(client, args.flavor)
    image = find_image(client, args.image) if args.image else None
    body = build_boot_request(args, image["id"] if image else None, flavor["id"],
                              networks_required=client.api_version_at_least("2.37"))
    reply = client.post("/servers", body)
    server = reply.get("server") if isinstance(reply, dict) else None
    if server is None:
        print_dict({"reservation_id": (reply or {}).get("reservation_id")})
        return
    shown = client.get(f"/servers/{server['id']}")["server"]
    if "adminPass" in server:
        shown["adminPass"] = server["adminPass"]
    print_dict(server_view(shown))
    if args.poll:
        poll_server(client, server["id"], "Server building...")


@command("list",
         arg("--all-tenants", action="store_true", help="servers of every project (admin)"),
         arg("--name"), arg("--status"), arg("--host"), arg("--flavor"), arg("--image"),
         arg("--reservation-id"),
         arg("--limit", type=int), arg("--marker"))
def do_list(client: Client, args: argparse.Namespace) -> None:
    """List servers."""
    query: dict[str, Any] = {}
    if args.all_tenants:
        query["all_tenants"] = "1"
    for name in ("name", "status", "host", "flavor", "image", "limit", "marker"):
        if getattr(args, name) is not None:
            query[name] = getattr(args, name)
    if args.reservation_id:
        query["reservation_id"] = args.reservation_id
    suffix = ("?" + urllib.parse.urlencode(query)) if query else ""
    servers = client.get("/servers/detail" + suffix)["servers"]
    rows = [{**s, "networks": _addresses(s)} for s in servers]
    fields = ["id", "name", "status", "OS-EXT-STS:task_state", "OS-EXT-STS:power_state",
              "networks"]
    labels = ["ID", "Name", "Status", "Task State", "Power State", "Networks"]
    if args.all_tenants:
        fields.insert(2, "tenant_id")
        labels.insert(2, "Tenant ID")
    print_list(rows, fields, labels)


@command("show", arg("server", metavar="<server>"))
def do_show(client: Client, args: argparse.Namespace) -> None:
    """Show a server's details."""
    print_dict(server_view(find_server(client, args.server)))


@command("delete", arg("servers", metavar="<server>", nargs="+"))
def do_delete(client: Client, args: argparse.Namespace) -> None:
    """Delete servers."""
    failed = []
    for ref in args.servers:
        try:
            client.delete(f"/servers/{find_server(client, ref)['id']}")
            print(f"Request to delete server {ref} has been accepted.")
        except CommandError as exc:
            failed.append(f"{ref}: {exc}")
    if failed:
        raise CommandError("Unable to delete the specified server(s):\n" + "\n".join(failed))


def _simple_action(name: str, body_key: str, value: Any = None) -> None:
    def handler(client: Client, args: argparse.Namespace) -> None:
        client.action(find_server(client, args.server)["id"], body_key, value)

    handler.__doc__ = f"{name.capitalize()} a server."
    command(name, arg("server", metavar="<server>"))(handler)


for _name, _key in (("stop", "os-stop"), ("start", "os-start"), ("pause", "pause"),
                    ("unpause", "unpause"), ("suspend", "suspend"), ("resume", "resume"),
                    ("lock", "lock"), ("unlock", "unlock"), ("shelve", "shelve"),
                    ("unshelve", "unshelve"), ("resize-confirm", "confirmResize"),
                    ("resize-revert", "revertResize")):
    _simple_action(_name, _key)


@command("reboot", arg("server", metavar="<server>"),
         arg("--hard", action="store_true", help="a hard reboot (power cycle)"),
         arg("--poll", action="store_true"))
def do_reboot(client: Client, args: argparse.Namespace) -> None:
    """Reboot a server (soft unless --hard)."""
    server = find_server(client, args.server)
    client.action(server["id"], "reboot", {"type": "HARD" if args.hard else "SOFT"})
    if args.poll:
        poll_server(client, server["id"], "Server rebooting...")


@command("resize", arg("server", metavar="<server>"), arg("flavor", metavar="<flavor>"),
         arg("--poll", action="store_true"))
def do_resize(client: Client, args: argparse.Namespace) -> None:
    """Resize a server to another flavor (confirm or revert it afterwards)."""
    server = find_server(client, args.server)
    flavor = find_flavor(client, args.flavor)
    client.action(server["id"], "resize", {"flavorRef": flavor["id"]})
    if args.poll:
        poll_server(client, server["id"], "Server resizing...", final=("VERIFY_RESIZE",
                                                                        "ACTIVE"))


@command("rebuild", arg("server", metavar="<server>"), arg("image", metavar="<image>"),
         arg("--name"), arg("--poll", action="store_true"))
def do_rebuild(client: Client, args: argparse.Namespace) -> None:
    """Rebuild a server from an image."""
    server = find_server(client, args.server)
    rebuild: dict[str, Any] = {"imageRef": find_image(client, args.image)["id"]}
    if args.name:
        rebuild["name"] = args.name
    client.action(server["id"], "rebuild", rebuild)
    if args.poll:
        poll_server(client, server["id"], "Server rebuilding...")


@command("console-log", arg("server", metavar="<server>"),
         arg("--length", type=int, help="only the last N lines"))
def do_console_log(client: Client, args: argparse.Namespace) -> None:
    """Print a server's console log."""
    value: dict[str, Any] = {}
    if args.length is not None:
        value["length"] = args.length
    reply = client.action(find_server(client, args.server)["id"], "os-getConsoleOutput", value)
    print((reply or {}).get("output", ""), end="")


@command("image-create", arg("server", metavar="<server>"), arg("name", metavar="<name>"),
         arg("--metadata", action="append", metavar="key=value"),
         arg("--show", action="store_true", help="print the new image"))
def do_image_create(client: Client, args: argparse.Namespace) -> None:
    """Create an image (snapshot) of a server."""
    value: dict[str, Any] = {"name": args.name}
    if args.metadata:
        value["metadata"] = key_values(args.metadata)
    server = find_server(client, args.server)
    reply = client.action(server["id"], "createImage", value)
    image_id = (reply or {}).get("image_id")
    if image_id is None:
        raise CommandError("the API did not say which image it created")
    if args.show:
        print_dict(find_image(client, image_id))
    else:
        print(image_id)


@command("meta", arg("server", metavar="<server>"),
         arg("operation", choices=["set", "delete"]),
         arg("metadata", nargs="+", metavar="<key[=value]>"))
def do_meta(client: Client, args: argparse.Namespace) -> None:
    """Set or delete metadata of a server."""
    server_id = find_server(client, args.server)["id"]
    if args.operation == "set":
        client.post(f"/servers/{server_id}/metadata", {"metadata": key_values(args.metadata)})
        return
    for key in args.metadata:
        client.delete(f"/servers/{server_id}/metadata/{urllib.parse.quote(key, safe='')}")


@command("instance-action-list", arg("server", metavar="<server>"))
def do_instance_action_list(client: Client, args: argparse.Namespace) -> None:
    """List the actions done on a server."""
    server_id = find_server(client, args.server)["id"]
    actions = client.get(f"/servers/{server_id}/os-instance-actions")["instanceActions"]
    print_list(actions, ["action", "request_id", "message", "start_time", "updated_at"],
               ["Action", "Request_ID", "Message", "Start_Time", "Updated_At"])


@command("instance-action", arg("server", metavar="<server>"),
         arg("request_id", metavar="<request-id>"))
def do_instance_action(client: Client, args: argparse.Namespace) -> None:
    """Show one action done on a server, with its events."""
    server_id = find_server(client, args.server)["id"]
    action = client.get(
        f"/servers/{server_id}/os-instance-actions/{args.request_id}")["instanceAction"]
    print_dict(action)


command("instance-action-show", arg("server", metavar="<server>"),
        arg("request_id", metavar="<request-id>"))(do_instance_action)
