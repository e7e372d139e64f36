"""``/images/{id}/metadata``: an image's properties through Nova's image proxy (≤ 2.35).

Reads need an image the caller may see (404 otherwise); changes need its
owner or an admin (403, Glance's rule) and stay within the project's
``metadata_items`` quota (403 "Image metadata limit exceeded", as Nova).
The hashes the image service computed (``os_hash_algo``, ``os_hash_value``:
Glance core fields the local store keeps as properties) are neither shown
nor writable here, so a PUT of the whole set cannot drop them.
"""

from __future__ import annotations

from typing import Any

import webob

from kumo import exception
from kumo.api import validation
from kumo.api.openstack import common
from kumo.api.openstack.compute import images as images_api
from kumo.api.openstack.compute.server_metadata import ITEM_SCHEMA, METADATA_SCHEMA

READ_ONLY = images_api.READ_ONLY_PROPERTIES
shown = images_api.shown_metadata


class ItemNotFound(exception.NotFound):
    msg_fmt = "Invalid metadata key"


class ImageMetadataLimitExceeded(exception.Forbidden):
    msg_fmt = "Image metadata limit exceeded"


class ImageMetadataController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def _read(self, req: webob.Request, image_id: str) -> tuple[Any, Any, Any]:
        context = common.context_of(req)
        images = images_api.image_api_of(self.clients)
        return context, images, images_api.get_visible(images, context, image_id)

    def _write(self, context: Any, images: Any, image: Any, image_id: str,
               properties: dict[str, Any]) -> dict[str, Any]:
        """Store ``properties`` as the image's whole metadata; returns what is shown."""
        images_api.check_owner(context, image, "modify")
        try:
            self.clients.conductor.quota_check_metadata(
                context, project_id=context.project_id, count=len(properties))
        except exception.MetadataLimitExceeded:
            raise ImageMetadataLimitExceeded() from None
        return shown(_store(context, images, image, image_id, properties).get("properties"))

    @staticmethod
    def _validated(req: webob.Request, schema: dict[str, Any], field: str) -> dict[str, Any]:
        body = common.json_body(req)
        validation.validate(schema, body)
        values = dict(body[field])
        for key in values:
            if key in READ_ONLY:
                raise exception.ImageNotAuthorized(reason=f"Attribute '{key}' is read-only.")
        return values

    # --- the whole set -------------------------------------------------------------------

    def index(self, req: webob.Request, image_id: str) -> webob.Response:
        _context, _images, image = self._read(req, image_id)
        return common.json_response({"metadata": shown(image.get("properties"))})

    def create(self, req: webob.Request, image_id: str) -> webob.Response:
        """POST: merge the given keys into the metadata (200)."""
        metadata = self._validated(req, METADATA_SCHEMA, "metadata")
        context, images, image = self._read(req, image_id)
        merged = {**shown(image.get("properties")), **metadata}
        return common.json_response(
            {"metadata": self._write(context, images, image, image_id, merged)})

    def update_all(self, req: webob.Request, image_id: str) -> webob.Response:
        """PUT: replace the whole metadata; answers with what was sent."""
        metadata = self._validated(req, METADATA_SCHEMA, "metadata")
        context, images, image = self._read(req, image_id)
        self._write(context, images, image, image_id, metadata)
        return common.json_response({"metadata": metadata})

    # --- one key -------------------------------------------------------------------------

    def show(self, req: webob.Request, image_id: str, key: str) -> webob.Response:
        _context, _images, image = self._read(req, image_id)
        metadata = shown(image.get("properties"))
        if key not in metadata:
            raise ItemNotFound()
        return common.json_response({"meta": {key: metadata[key]}})

    def update(self, req: webob.Request, image_id: str, key: str) -> webob.Response:
        meta = self._validated(req, ITEM_SCHEMA, "meta")
        if key not in meta:
            raise common.BadRequest(reason="Request body and URI mismatch")
        context, images, image = self._read(req, image_id)
        merged = {**shown(image.get("properties")), **meta}
        self._write(context, images, image, image_id, merged)
        return common.json_response({"meta": meta})

    def delete(self, req: webob.Request, image_id: str, key: str) -> webob.Response:
        context, images, image = self._read(req, image_id)
        metadata = shown(image.get("properties"))
        if key not in metadata:
            raise ItemNotFound()
        del metadata[key]
        images_api.check_owner(context, image, "modify")
        _store(context, images, image, image_id, metadata)
        return common.empty_response(204)


def _store(context: Any, images: Any, image: Any, image_id: str,
           properties: dict[str, Any]) -> Any:
    """Make ``properties`` the image's whole metadata, its read-only hashes kept."""
    kept = {key: value for key, value in (image.get("properties") or {}).items()
            if key in READ_ONLY}
    return images.update(context, image_id, {"properties": {**properties, **kept}})
