"""ImageAPI: how kumo services read images, from the backend ``[image] backend`` names.

``local``: metadata through the conductor (the ``images`` table), bytes in
the local store directory. ``glance``: both from a Glance v2 service
(:mod:`kumo.image.glance`).
"""

from __future__ import annotations

import io
import os
import pathlib
from typing import Any, BinaryIO

from oslo_config import cfg
from oslo_log import log as logging

from kumo import exception
from kumo.conductor import rpcapi as conductor_rpcapi
from kumo.image import local, snapshot, verify
from kumo.objects import image as image_obj

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


class ImageAPI:
    """The one facade other services use for images: their reads, changes,
    deletes and snapshots go to the backend ``[image] backend`` names.

    ``local``: metadata from kumo-conductor (the ``images`` table), the bytes
    from the local store directory, which every kumo service of a single-node
    cloud shares (``[image] local_store_path``). ``glance``: both from Glance.
    """

    def __init__(self, conductor: conductor_rpcapi.ConductorAPI | None = None,
                 store: local.LocalStore | None = None, glance: Any = None) -> None:
        self._conductor = conductor
        self._store = store
        self._glance = glance

    @property
    def glance(self) -> Any:
        """The Glance client when ``[image] backend = glance``, else None (also
        when built with ``glance=False``: the local store whatever the backend)."""
        if self._glance is None and CONF.image.backend == "glance":
            from kumo.image import glance

            self._glance = glance.GlanceClient()
        return self._glance or None

    @property
    def conductor(self) -> conductor_rpcapi.ConductorAPI:
        if self._conductor is None:
            self._conductor = conductor_rpcapi.ConductorAPI()
        return self._conductor

    @property
    def store(self) -> local.LocalStore:
        if self._store is None:
            self._store = local.LocalStore()
        return self._store

    def get(self, ctxt: Any, image_id: str, project_id: str | None = None) -> Any:
        """The Image; raises ImageNotFound, also for one ``project_id`` may not see."""
        if self.glance is not None:
            return self.glance.show(ctxt, image_id, project_id=project_id)
        return self.conductor.image_get(ctxt, image_id, project_id=project_id)

    def get_all(self, ctxt: Any, project_id: str | None = None,
                filters: dict[str, Any] | None = None) -> list[Any]:
        """The Images ``project_id`` may see (every one for None)."""
        if self.glance is not None:
            return self.glance.list(ctxt, project_id=project_id, filters=filters)
        return self.conductor.image_get_all(ctxt, project_id=project_id, filters=filters)

    def location(self, image_id: str) -> pathlib.Path:
        """The local file with the image's bytes; raises ImageNotFound without one."""
        return self.store.location(image_id)

    def update(self, ctxt: Any, image_id: str, values: dict[str, Any]) -> Any:
        """Change the image's fields; ``values["properties"]``, when given, is the
        image's whole new set of properties (the ones left out are removed)."""
        if self.glance is None:
            return self.conductor.image_update(ctxt, image_id=image_id, values=values)
        values = dict(values)
        if "properties" in values:
            current = self.glance.show(ctxt, image_id).get("properties") or {}
            wanted = dict(values["properties"] or {})
            values["properties"] = {**dict.fromkeys(current), **wanted}
        return self.glance.update(ctxt, image_id, values)

    def delete(self, ctxt: Any, image_id: str) -> None:
        """Delete the image (and its bytes); Forbidden for a protected one."""
        if self.glance is not None:
            self.glance.delete(ctxt, image_id)
        else:
            self.conductor.image_delete(ctxt, image_id=image_id)

    # -- snapshots: create queued, upload the bytes, activate ---------------------------

    def create_snapshot(self, ctxt: Any, instance: Any, name: str,
                        metadata: dict[str, Any] | None = None) -> Any:
        """The queued image a snapshot of ``instance`` will fill (see
        :mod:`kumo.image.snapshot` for what it records); has an ``id``."""
        base = None
        base_ref = getattr(instance, "image_ref", None)
        if base_ref:
            try:
                base = self.get(ctxt, base_ref)
            except exception.ImageNotFound:
                LOG.info("Base image %s of server %s is gone; the snapshot inherits "
                         "nothing from it", base_ref, instance.uuid)
        record = snapshot.snapshot_record(ctxt, instance, name, base, metadata,
                                          shared_by_members=self.glance is not None)
        if self.glance is None:
            return self.conductor.image_create(ctxt, values=record.values)
        image = self.glance.create(ctxt, record.values)
        if record.member:
            try:
                self.glance.add_member(ctxt, image["id"], record.member)
            except Exception:
                # The sharing's error is the caller's; the image must not stay behind.
                try:
                    self.glance.delete(ctxt, image["id"])
                except Exception:
                    LOG.exception("Could not delete the unshared snapshot image %s",
                                  image["id"])
                raise
        return image_obj.Image.from_row(image)

    def upload(self, ctxt: Any, image_id: str, data: BinaryIO | bytes | str | os.PathLike[str],
               disk_format: str, container_format: str = "bare") -> dict[str, Any]:
        """Send a snapshot's bytes (a file object, bytes, or a file's path) to the
        queued image ``image_id``.

        Glance: its disk and container formats set, then the bytes (Glance
        takes it saving -> active). Local: only the bytes into the store; the
        record goes active with :meth:`activate`. Returns ``size`` and
        ``checksum`` (md5) of what was stored.
        """
        if isinstance(data, (str, os.PathLike)):
            with open(data, "rb") as stream:
                return self.upload(ctxt, image_id, stream, disk_format, container_format)
        if isinstance(data, bytes):
            return self.upload(ctxt, image_id, io.BytesIO(data), disk_format,
                               container_format)
        if self.glance is None:
            written = self.store.write(image_id, data)
            return {"size": written.size, "checksum": written.checksum,
                    "os_hash_algo": written.os_hash_algo,
                    "os_hash_value": written.os_hash_value,
                    "disk_format": disk_format, "container_format": container_format}
        self.glance.update(ctxt, image_id, {"disk_format": disk_format,
                                            "container_format": container_format})
        image = self.glance.upload(ctxt, image_id, data)
        return {"size": image.get("size"), "checksum": image.get("checksum"),
                "status": image.get("status"), "disk_format": disk_format,
                "container_format": container_format}

    def activate(self, ctxt: Any, image_id: str, uploaded: dict[str, Any]) -> None:
        """Finish a snapshot whose bytes :meth:`upload` stored: the local record goes
        active with their size and checksum; Glance did that itself, so it is only
        checked (KumoException when the image is not active)."""
        if self.glance is None:
            self.conductor.image_update(ctxt, image_id=image_id, values={
                "status": "active", "disk_format": uploaded.get("disk_format"),
                "container_format": uploaded.get("container_format"),
                "size": uploaded.get("size") or 0, "checksum": uploaded.get("checksum")})
            return
        status = self.glance.show(ctxt, image_id).get("status")
        if status != "active":
            raise exception.KumoException(
                f"Image {image_id} is {status} after its upload, not active")

    def download(self, image_id: str, destination: str | pathlib.Path,
                 ctxt: Any = None, verifier: verify.Verifier | None = None) -> pathlib.Path:
        """Copy the image's bytes to ``destination``; returns it.

        With a ``verifier`` the bytes are hashed on the way and
        ImageChecksumMismatch is raised (``destination`` removed) when they are
        not what the image service recorded.
        """
        chunks = (self.glance.data(ctxt, image_id) if self.glance is not None
                  else self.store.read(image_id))
        return verify.write(chunks, destination, verifier)

    def fetch_verified(self, ctxt: Any, image_id: str,
                       destination: str | pathlib.Path) -> pathlib.Path:
        """Download the image checked against every hash its metadata records.

        This is how compute hosts fill their base-image cache: the image
        service's own record (not the caller's copy of it) says what the bytes
        must hash to.
        """
        image = self.get(ctxt, image_id)
        verifier = verify.Verifier.for_image(image_id, image)
        if not verifier.checks:
            LOG.warning("Image %s records no checksum; its data is not verified", image_id)
        return self.download(image_id, destination, ctxt=ctxt, verifier=verifier)
