"""Which instance is asking: by its fixed IP, or by a metadata proxy's signed headers.

A guest's request reaches kumo-api-metadata either redirected from
169.254.169.254 by kumo-network (the peer address, or the last
X-Forwarded-For entry with ``[api] use_forwarded_for``, is its fixed IP) or
through a proxy that names the instance in ``X-Instance-ID`` and
``X-Tenant-ID`` and signs the id with ``[api] metadata_proxy_shared_secret``
(HMAC-SHA256, hex) in ``X-Instance-ID-Signature``. The conductor's answer is
kept ``[api] metadata_cache_expiration`` seconds, so the dozens of requests of
one cloud-init run cost one RPC call.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from typing import Any

import webob
import webob.exc
from oslo_config import cfg
from oslo_log import log as logging

from kumo import context as kumo_context
from kumo import exception
from kumo.api.metadata.source import InstanceSource

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

INSTANCE_ID = "X-Instance-ID"
TENANT_ID = "X-Tenant-ID"
SIGNATURE = "X-Instance-ID-Signature"
UNKNOWN_ERROR = "An unknown error has occurred. Please try your request again."


def sign(secret: str, instance_id: str) -> str:
    """The X-Instance-ID-Signature of ``instance_id`` under ``secret``."""
    return hmac.new(secret.encode(), instance_id.encode(), hashlib.sha256).hexdigest()


class TTLCache:
    """A small thread-safe cache whose entries expire ``ttl`` seconds after they were put."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[key]
                return None
            return entry[1]

    def drop(self, predicate: Callable[[Any], bool]) -> None:
        """Forget every entry whose value satisfies ``predicate``."""
        with self._lock:
            self._entries = {k: e for k, e in self._entries.items() if not predicate(e[1])}

    def put(self, key: Any, value: Any) -> None:
        if self.ttl <= 0:
            return
        now = self._clock()
        with self._lock:
            if len(self._entries) > 1024:
                self._entries = {k: e for k, e in self._entries.items() if e[0] > now}
            self._entries[key] = (now + self.ttl, value)


class InstanceFinder:
    """Finds the :class:`InstanceSource` of a request through the conductor."""

    def __init__(self, conductor: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.conductor = conductor
        self.cache = TTLCache(CONF.api.metadata_cache_expiration, clock)

    def remote_address(self, req: webob.Request) -> str | None:
        address = req.remote_addr
        if CONF.api.use_forwarded_for and req.headers.get("X-Forwarded-For"):
            # The last entry is what the (trusted) proxy saw; earlier ones are
            # whatever the client claimed.
            address = req.headers["X-Forwarded-For"].split(",")[-1].strip()
        return address

    def find(self, req: webob.Request) -> InstanceSource | None:
        """The asking instance; None when there is none (the caller answers 404).

        :raises webob.exc.HTTPBadRequest: a proxy request misses a header.
        :raises webob.exc.HTTPForbidden: a proxy request's signature is wrong.
        :raises webob.exc.HTTPInternalServerError: the conductor failed.
        """
        address = self.remote_address(req)
        if req.headers.get(INSTANCE_ID) is not None:
            if CONF.api.metadata_proxy_shared_secret:
                return self._by_signed_instance_id(req, address)
            LOG.warning("%s present in a request from %s, but no "
                        "[api] metadata_proxy_shared_secret is set: ignored",
                        INSTANCE_ID, address)
        if not address:
            return None
        return self._source(("address", address), address, address=address)

    def forget(self, instance_uuid: str) -> None:
        """Drop what is cached about an instance (after the guest changed it)."""
        self.cache.drop(lambda bundle: bundle["instance"]["uuid"] == instance_uuid)

    def _by_signed_instance_id(self, req: webob.Request,
                               address: str | None) -> InstanceSource | None:
        instance_id = req.headers.get(INSTANCE_ID)
        tenant_id = req.headers.get(TENANT_ID)
        signature = req.headers.get(SIGNATURE)
        if signature is None:
            raise webob.exc.HTTPBadRequest(f"{SIGNATURE} header is missing from request.")
        if tenant_id is None:
            raise webob.exc.HTTPBadRequest(f"{TENANT_ID} header is missing from request.")
        for name, value in ((INSTANCE_ID, instance_id), (TENANT_ID, tenant_id)):
            if "," in (value or ""):
                raise webob.exc.HTTPBadRequest(f"Multiple {name} headers found within request.")
        expected = sign(CONF.api.metadata_proxy_shared_secret, instance_id or "")
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            LOG.warning("%s %s does not match the expected value for instance %s; "
                        "request from %s", SIGNATURE, signature, instance_id, address)
            raise webob.exc.HTTPForbidden("Invalid proxy request signature.")
        source = self._source(("instance", instance_id), instance_id, address=address,
                              instance_uuid=instance_id)
        if source is not None and source.project_id != tenant_id:
            LOG.warning("Tenant %s does not own instance %s", tenant_id, instance_id)
            return None
        return source

    def _source(self, key: tuple[str, str | None], what: str | None,
                address: str | None, **lookup: Any) -> InstanceSource | None:
        bundle = self.cache.get(key)
        if bundle is None:
            ctxt = kumo_context.get_admin_context()
            try:
                bundle = self.conductor.instance_metadata_source(ctxt, **(
                    lookup or {"address": address}))
            except exception.NotFound:
                LOG.info("No instance for metadata request of %s", what)
                return None
            except Exception:
                LOG.exception("Failed to get metadata for %s", what)
                raise webob.exc.HTTPInternalServerError(UNKNOWN_ERROR) from None
            self.cache.put(key, bundle)
        return InstanceSource(bundle, address=address)
