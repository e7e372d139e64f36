"""What the nova-network proxy APIs share: their microversion cap and the
refresh of kumo-network after a change.

os-networks, os-floating-ips, os-floating-ip-pools, os-security-groups and
os-security-group-rules answer 404 from microversion 2.36 on, as in the
Compute API (they proxied to nova-network/Neutron and were deprecated then).
"""

from __future__ import annotations

from typing import Any

import webob

from kumo import exception
from kumo.api.openstack import api_version

LAST_MICROVERSION = "2.35"


def check_microversion(req: webob.Request) -> None:
    """:raises NotFound: the request's microversion no longer has the proxy APIs."""
    if api_version.at_least(req, "2.36"):
        raise exception.NotFound("The resource could not be found.")


def refresh(context: Any) -> None:
    """Tell every kumo-network to rebuild its rules from the database (a cast)."""
    from kumo.network import rpcapi

    rpcapi.NetworkAPI().refresh(context)


def refresh_info_cache(conductor: Any, context: Any, instance_uuid: str) -> None:
    """Re-read the server's network_info into its cache (its ``addresses``)."""
    info = conductor.instance_network_info(context, instance_uuid=instance_uuid)
    conductor.instance_info_cache_update(context, instance_uuid=instance_uuid,
                                         network_info=info)
