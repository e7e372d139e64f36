"""The version documents at ``/`` and ``/v2.1``."""

from __future__ import annotations

from typing import Any

# The microversion range kumo really implements. Raise MAX_VERSION only
# together with the behaviour the new microversion brings.
MIN_VERSION = "2.1"
MAX_VERSION = "2.102"
UPDATED = "2013-07-23T11:33:21Z"


def _v21(base_url: str) -> dict[str, Any]:
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": MAX_VERSION,
        "min_version": MIN_VERSION,
        "updated": UPDATED,
        "links": [{"rel": "self", "href": f"{base_url}/v2.1/"}],
    }


def versions(base_url: str) -> dict[str, Any]:
    """``GET /``: every API version this endpoint serves."""
    return {"versions": [_v21(base_url)]}


def version_v21(base_url: str) -> dict[str, Any]:
    """``GET /v2.1``: the v2.1 document with its media types."""
    doc = _v21(base_url)
    doc["links"].append({
        "rel": "describedby",
        "type": "text/html",
        "href": "https://docs.openstack.org/api-ref/compute/",
    })
    doc["media-types"] = [{
        "base": "application/json",
        "type": "application/vnd.openstack.compute+json;version=2.1",
    }]
    return {"version": doc}
