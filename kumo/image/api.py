"""ImageAPI: how kumo services read images (metadata through the conductor, bytes locally)."""

from __future__ import annotations

import pathlib
from typing import Any

from kumo.conductor import rpcapi as conductor_rpcapi
from kumo.image import local


class ImageAPI:
    """The one facade other services use for images.

    Metadata comes from kumo-conductor (the ``images`` table); the bytes from
    the local store directory, which every kumo service of a single-node cloud
    shares (``[image] local_store_path``).
    """

    def __init__(self, conductor: conductor_rpcapi.ConductorAPI | None = None,
                 store: local.LocalStore | None = None) -> None:
        self._conductor = conductor
        self._store = store

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
        return self.conductor.image_get(ctxt, image_id, project_id=project_id)

    def get_all(self, ctxt: Any, project_id: str | None = None,
                filters: dict[str, Any] | None = None) -> list[Any]:
        """The Images ``project_id`` may see (every one for None)."""
        return self.conductor.image_get_all(ctxt, project_id=project_id, filters=filters)

    def location(self, image_id: str) -> pathlib.Path:
        """The local file with the image's bytes; raises ImageNotFound without one."""
        return self.store.location(image_id)

    def download(self, image_id: str, destination: str | pathlib.Path) -> pathlib.Path:
        """Copy the image's bytes to ``destination``; returns it."""
        destination = pathlib.Path(destination)
        with open(destination, "wb") as out:
            for chunk in self.store.read(image_id):
                out.write(chunk)
        return destination
