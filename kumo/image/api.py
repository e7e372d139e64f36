"""ImageAPI: how kumo services read images, from the backend ``[image] backend`` names.

``local``: metadata through the conductor (the ``images`` table), bytes in
the local store directory. ``glance``: both from a Glance v2 service
(:mod:`kumo.image.glance`).
"""

from __future__ import annotations

import pathlib
from typing import Any

from oslo_config import cfg

from kumo.conductor import rpcapi as conductor_rpcapi
from kumo.image import local

CONF = cfg.CONF


class ImageAPI:
    """The one facade other services use for images.

    Metadata comes from kumo-conductor (the ``images`` table); the bytes from
    the local store directory, which every kumo service of a single-node cloud
    shares (``[image] local_store_path``).
    """

    def __init__(self, conductor: conductor_rpcapi.ConductorAPI | None = None,
                 store: local.LocalStore | None = None, glance: Any = None) -> None:
        self._conductor = conductor
        self._store = store
        self._glance = glance

    @property
    def glance(self) -> Any:
        """The Glance client when ``[image] backend = glance``, else None."""
        if self._glance is None and CONF.image.backend == "glance":
            from kumo.image import glance

            self._glance = glance.GlanceClient()
        return self._glance

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

    def download(self, image_id: str, destination: str | pathlib.Path,
                 ctxt: Any = None) -> pathlib.Path:
        """Copy the image's bytes to ``destination``; returns it."""
        if self.glance is not None:
            return self.glance.download(ctxt, image_id, destination)
        destination = pathlib.Path(destination)
        with open(destination, "wb") as out:
            for chunk in self.store.read(image_id):
                out.write(chunk)
        return destination
