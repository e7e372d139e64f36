"""The OpenStack tree: ``/openstack/<version>/`` and its JSON documents.

Versions and what each adds follow Nova's metadata service of the
Newton/Ocata releases: meta_data.json (2012-08-10), password (2013-04-04),
vendor_data.json (2013-10-17), network_data.json and ``project_id``
(2015-10-15), ``devices`` (2016-06-30), vendor_data2.json (2016-10-06).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Sequence
from typing import Any

from oslo_config import cfg

from kumo.api.metadata import network_data as network_data_mod
from kumo.api.metadata import tree
from kumo.api.metadata.source import InstanceSource

CONF = cfg.CONF

FOLSOM, GRIZZLY, HAVANA = "2012-08-10", "2013-04-04", "2013-10-17"
LIBERTY, NEWTON_ONE, NEWTON_TWO, OCATA = "2015-10-15", "2016-06-30", "2016-10-06", "2017-02-22"
VERSIONS = (FOLSOM, GRIZZLY, HAVANA, LIBERTY, NEWTON_ONE, NEWTON_TWO, OCATA)
LATEST = tree.LATEST

JSON = "application/json"
TEXT = "text/plain"

META_DATA, USER_DATA, PASSWORD = "meta_data.json", "user_data", "password"
VENDOR_DATA, NETWORK_DATA, VENDOR_DATA2 = ("vendor_data.json", "network_data.json",
                                           "vendor_data2.json")

# Each file of a version directory, with the version that introduced it.
_FILES = ((META_DATA, FOLSOM), (USER_DATA, FOLSOM), (PASSWORD, GRIZZLY),
          (VENDOR_DATA, HAVANA), (NETWORK_DATA, LIBERTY), (VENDOR_DATA2, NEWTON_TWO))


InvalidVersion = tree.InvalidVersion


class FileNotFound(LookupError):
    """No such file in the version (or none for this instance: user_data)."""


def resolve_version(version: str) -> str:
    """One of :data:`VERSIONS` (``latest``: the newest); raises InvalidVersion."""
    return tree.resolve_version(version, VERSIONS)


def _json(value: Any) -> tuple[bytes, str]:
    return json.dumps(value).encode(), JSON


def meta_data(source: InstanceSource, version: str) -> dict[str, Any]:
    """The ``meta_data.json`` document of ``version`` (already resolved)."""
    instance = source.instance
    document: dict[str, Any] = {"uuid": source.uuid}
    if instance.get("metadata"):
        document["meta"] = dict(instance["metadata"])
    keypair = source.keypair
    if keypair:
        document["public_keys"] = {keypair["name"]: keypair["data"]}
        document["keys"] = [keypair]
    document.update(hostname=source.hostname, name=instance.get("display_name"),
                    launch_index=instance.get("launch_index") or 0,
                    availability_zone=source.availability_zone)
    if version >= GRIZZLY:
        document["random_seed"] = base64.b64encode(os.urandom(512)).decode()
    if version >= LIBERTY:
        document["project_id"] = source.project_id
    if version >= NEWTON_ONE:
        # Device tags (2.32/2.42) are not stored by kumo: no tagged devices to list.
        document["devices"] = []
    return document


def _static_vendor_data() -> dict[str, Any]:
    """``[api] vendordata_jsonfile_path``'s content, or {} (unset, unreadable, invalid)."""
    path = CONF.api.vendordata_jsonfile_path
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# A guest's encrypted password is at most this many bytes (Nova's limit).
PASSWORD_MAX_SIZE = 256


def password(source: InstanceSource) -> str:
    """The encrypted password a guest stored (system_metadata password_0..3), or ''."""
    system = source.instance.get("system_metadata") or {}
    return "".join(system.get(f"password_{i}") or "" for i in range(4))


def listing(source: InstanceSource, version: str) -> list[str]:
    """The files of a version directory (user_data only when there is some)."""
    return [name for name, since in _FILES if version >= since
            and (name != USER_DATA or source.user_data is not None)]


def _file_builders(source: InstanceSource, version: str
                   ) -> dict[str, Callable[[], tuple[bytes, str]]]:
    return {
        META_DATA: lambda: _json(meta_data(source, version)),
        USER_DATA: lambda: (source.user_data or b"", TEXT),
        PASSWORD: lambda: (password(source).encode(), TEXT),
        VENDOR_DATA: lambda: _json(_static_vendor_data()),
        NETWORK_DATA: lambda: _json(network_data_mod.network_data(source.network_info)),
        VENDOR_DATA2: lambda: _json({"static": _static_vendor_data()}),
    }


def lookup(source: InstanceSource, tokens: Sequence[str]) -> tuple[bytes, str]:
    """The body and content type at ``/openstack/<tokens…>`` (tokens[0] the version).

    :raises InvalidVersion: :raises FileNotFound:
    """
    version = resolve_version(tokens[0])
    names = listing(source, version)
    if len(tokens) == 1:
        return "\n".join(names).encode(), TEXT
    name = "/".join(tokens[1:])
    if name not in names:
        raise FileNotFound(name)
    return _file_builders(source, version)[name]()
