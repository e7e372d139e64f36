"""`kumo`: the user's command line over the Compute API, nova-style.

Endpoint and credentials come from the usual ``OS_*`` variables (or the
matching ``--os-*`` options): ``OS_COMPUTE_API_URL`` with ``OS_TOKEN`` (e.g.
``admin:admin`` against a noauth2 cloud) asks no Identity service; otherwise a
Keystone password session is made from ``OS_AUTH_URL``, ``OS_USERNAME``,
``OS_PASSWORD``, ``OS_PROJECT_NAME`` and the endpoint comes from its catalog.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import kumo
from kumo.cli import commands  # noqa: F401  (fills the registry)
from kumo.cli.client import Client, CommandError, make_session
from kumo.cli.registry import COMMANDS


def build_parser() -> argparse.ArgumentParser:
    """The parser of every global option and sub-command."""
    parser = argparse.ArgumentParser(prog="kumo", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--version", action="version", version=kumo.__version__)
    env = os.environ.get
    parser.add_argument("--os-compute-api-url", default=env("OS_COMPUTE_API_URL"),
                        help="the compute endpoint (…/v2.1); with --os-token, no Keystone")
    parser.add_argument("--os-token", default=env("OS_TOKEN"))
    parser.add_argument("--os-auth-url", default=env("OS_AUTH_URL"))
    parser.add_argument("--os-username", default=env("OS_USERNAME"))
    parser.add_argument("--os-password", default=env("OS_PASSWORD"))
    parser.add_argument("--os-project-name", default=env("OS_PROJECT_NAME")
                        or env("OS_TENANT_NAME"))
    parser.add_argument("--os-user-domain-name",
                        default=env("OS_USER_DOMAIN_NAME", "Default"))
    parser.add_argument("--os-project-domain-name",
                        default=env("OS_PROJECT_DOMAIN_NAME", "Default"))
    parser.add_argument("--os-region-name", default=env("OS_REGION_NAME"))
    parser.add_argument("--os-interface", default=env("OS_INTERFACE", "public"))
    parser.add_argument("--os-compute-api-version",
                        default=env("OS_COMPUTE_API_VERSION", "latest"),
                        help="microversion to ask for (default: the latest the cloud offers)")
    parser.add_argument("--debug", action="store_true",
                        help="log every HTTP request and answer on stderr")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to wait for one HTTP answer")
    sub = parser.add_subparsers(dest="command", metavar="<command>", required=True)
    for name in sorted(COMMANDS):
        cmd = COMMANDS[name]
        child = sub.add_parser(name, help=cmd.help, description=cmd.help)
        for argument in cmd.arguments:
            child.add_argument(*argument.flags, **argument.options)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; 0 on success, 1 with ``ERROR: <message>`` on stderr otherwise."""
    args = build_parser().parse_args(argv)
    if args.debug:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    version = args.os_compute_api_version
    if version != "latest" and version.startswith("2") and "." not in version:
        version = "2.1"
    try:
        sess, endpoint = make_session(args)
        client = Client(sess, endpoint, api_version=version, interface=args.os_interface,
                        region_name=args.os_region_name)
        COMMANDS[args.command].handler(client, args)
    except CommandError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
