"""`kumo`: the user's command line over the compute API, authenticated by keystoneauth1.

Endpoint and credentials come from the usual ``OS_*`` variables: with
``OS_COMPUTE_API_URL`` and ``OS_TOKEN`` (e.g. ``admin:admin`` against a
noauth2 cloud) no Identity service is asked; otherwise a password session
is made from ``OS_AUTH_URL``, ``OS_USERNAME``, ``OS_PASSWORD``, … .
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import prettytable
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading, session
from keystoneauth1.identity import generic
from keystoneauth1.noauth import NoAuth

import kumo


def _session(args: argparse.Namespace) -> tuple[session.Session, str | None]:
    if args.os_token and args.os_compute_api_url:
        sess = session.Session(auth=NoAuth())
        sess.additional_headers["X-Auth-Token"] = args.os_token
        return sess, args.os_compute_api_url
    if not args.os_auth_url:
        raise SystemExit("kumo: set OS_COMPUTE_API_URL and OS_TOKEN, or OS_AUTH_URL "
                         "with OS_USERNAME/OS_PASSWORD/OS_PROJECT_NAME")
    auth = generic.Password(
        auth_url=args.os_auth_url, username=args.os_username, password=args.os_password,
        project_name=args.os_project_name,
        user_domain_name=os.environ.get("OS_USER_DOMAIN_NAME", "Default"),
        project_domain_name=os.environ.get("OS_PROJECT_DOMAIN_NAME", "Default"))
    return loading.load_session_from_argparse_arguments(args, auth=auth), None


def _root_url(endpoint: str) -> str:
    return endpoint.rstrip("/").removesuffix("/v2.1")


def version_list(sess: session.Session, endpoint: str | None, args: argparse.Namespace) -> None:
    """Print the API versions the cloud offers."""
    if endpoint:
        resp = sess.get(_root_url(endpoint) + "/")
    else:
        resp = sess.get("/", endpoint_filter={"service_type": "compute"})
    table = prettytable.PrettyTable(["Id", "Status", "Min Version", "Max Version"])
    table.align = "l"
    for version in resp.json()["versions"]:
        table.add_row([version["id"], version["status"], version["min_version"],
                       version["version"]])
    print(table)


COMMANDS: dict[str, Any] = {"version-list": version_list}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kumo", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=kumo.__version__)
    env = os.environ.get
    parser.add_argument("--os-compute-api-url", default=env("OS_COMPUTE_API_URL"))
    parser.add_argument("--os-token", default=env("OS_TOKEN"))
    parser.add_argument("--os-auth-url", default=env("OS_AUTH_URL"))
    parser.add_argument("--os-username", default=env("OS_USERNAME"))
    parser.add_argument("--os-password", default=env("OS_PASSWORD"))
    parser.add_argument("--os-project-name", default=env("OS_PROJECT_NAME"))
    loading.register_session_argparse_arguments(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func in COMMANDS.items():
        sub.add_parser(name, help=func.__doc__)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sess, endpoint = _session(args)
    try:
        COMMANDS[args.command](sess, endpoint, args)
    except ks_exc.HttpError as exc:
        print(f"ERROR: {exc.message} (HTTP {exc.http_status})", file=sys.stderr)
        return 1
    except ks_exc.ConnectFailure as exc:
        print(f"ERROR: cannot reach the compute API: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
