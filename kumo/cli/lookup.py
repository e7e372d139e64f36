"""Find a server, flavor or image by ID or by name, as the nova client does."""

from __future__ import annotations

import urllib.parse
from typing import Any

from kumo.cli.client import APIError, Client, CommandError


def _by_name(items: list[dict[str, Any]], name: str, kind: str) -> dict[str, Any]:
    found = [item for item in items if item.get("name") == name]
    if not found:
        raise CommandError(f"No {kind} with a name or ID of '{name}' exists.")
    if len(found) > 1:
        raise CommandError(f"Multiple {kind} matches found for '{name}', use an ID to be "
                           "more specific.")
    return found[0]


# The Compute API's image proxy (/images) answers 404 from microversion 2.36 on.
IMAGE_PROXY_MAX = "2.35"


def _show_or_none(client: Client, path: str,
                  microversion: str | None = None) -> dict[str, Any] | None:
    try:
        return client.get(path, microversion=microversion)
    except APIError as exc:
        if exc.status in (400, 404):
            return None
        raise


def find_server(client: Client, ref: str, all_tenants: bool = False) -> dict[str, Any]:
    """The server ``ref`` (an ID, else an exact name) as ``GET /servers/{id}`` shows it."""
    shown = _show_or_none(client, f"/servers/{urllib.parse.quote(ref, safe='')}")
    if shown is not None:
        return shown["server"]
    query = {"name": f"^{ref}$"}
    if all_tenants:
        query["all_tenants"] = "1"
    listed = client.get("/servers/detail?" + urllib.parse.urlencode(query))["servers"]
    return _by_name(listed, ref, "server")


def find_flavor(client: Client, ref: str) -> dict[str, Any]:
    """The flavor ``ref``: an ID, else an exact name."""
    shown = _show_or_none(client, f"/flavors/{urllib.parse.quote(ref, safe='')}")
    if shown is not None:
        return shown["flavor"]
    # is_public=None: an admin finds private flavors too (others see theirs anyway).
    return _by_name(client.get("/flavors/detail?is_public=None")["flavors"], ref, "flavor")


def find_image(client: Client, ref: str) -> dict[str, Any]:
    """The image ``ref``: an ID, else an exact name."""
    version = client.capped(IMAGE_PROXY_MAX)
    shown = _show_or_none(client, f"/images/{urllib.parse.quote(ref, safe='')}", version)
    if shown is not None:
        return shown["image"]
    return _by_name(client.get("/images/detail", microversion=version)["images"], ref,
                    "image")
