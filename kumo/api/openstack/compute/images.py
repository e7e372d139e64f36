"""``/images``: Nova's image proxy (served up to 2.35) over the configured image backend.

Reads and deletes go through :class:`kumo.image.api.ImageAPI`: the local
store's records through kumo-conductor, or Glance (``[image] backend``).
What the caller may see follows the image service's visibility rules
(another project's private image is 404, as if it did not exist); what the
caller may change follows Glance's owner rule (403 for an image the caller
sees but does not own, and for a protected one), checked here so that both
backends answer alike.
"""

from __future__ import annotations

import datetime
from typing import Any

import webob
from oslo_utils import timeutils

from kumo import exception
from kumo.api.openstack import common
from kumo.api.openstack.compute import views
from kumo.image import api as image_api

# Statuses in which an image's data is still being written (a snapshot in progress).
BUSY_STATUSES = ("queued", "saving")
# Properties the image service owns (Glance core fields the local store keeps as
# properties): never shown as metadata, never written through the API.
READ_ONLY_PROPERTIES = ("os_hash_algo", "os_hash_value")


def shown_metadata(properties: dict[str, Any] | None) -> dict[str, Any]:
    """The properties the API shows as the image's metadata."""
    return {key: value for key, value in (properties or {}).items()
            if key not in READ_ONLY_PROPERTIES}


def image_detail(req: webob.Request, image: Any) -> dict[str, Any]:
    shown = views.image_detail(req, image)
    shown["metadata"] = shown_metadata(shown["metadata"])
    return shown


def _matches(image: Any, params: Any) -> bool:
    """Nova's image list filters, applied to one image."""
    if "name" in params and views._get(image, "name") != params["name"]:
        return False
    if "status" in params and views.image_status(image) != params["status"].upper():
        return False
    properties = views._get(image, "properties") or {}
    if "server" in params and properties.get("instance_uuid") != \
            common.id_from_href(params["server"]):
        return False
    if "type" in params and properties.get("image_type") != params["type"]:
        return False
    for param, field in (("minRam", "min_ram"), ("minDisk", "min_disk")):
        if param in params:
            try:
                wanted = int(params[param])
            except ValueError:
                raise common.BadRequest(
                    reason=f"Invalid {param} filter [{params[param]}]") from None
            if (views._get(image, field, 0) or 0) < wanted:
                return False
    return True


def image_api_of(clients: common.Clients) -> image_api.ImageAPI:
    """The image backend the API's requests go to (its conductor client shared)."""
    return image_api.ImageAPI(conductor=clients.conductor)


def get_visible(images: image_api.ImageAPI, context: Any, image_id: str) -> Any:
    """The image if the caller may see it; ImageNotFound (404) otherwise."""
    return images.get(context, image_id, project_id=common.project_scope(context))


def check_owner(context: Any, image: Any, doing: str) -> None:
    """Glance's rule for changes: the image's owner or an admin (403 otherwise)."""
    if context.is_admin:
        return
    if views._get(image, "owner") != context.project_id:
        raise exception.ImageNotAuthorized(reason=f"You are not allowed to {doing} the image.")


class ImagesController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    @property
    def images(self) -> image_api.ImageAPI:
        return image_api_of(self.clients)

    def index(self, req: webob.Request) -> webob.Response:
        return self._list(req, views.image_basic, "images")

    def detail(self, req: webob.Request) -> webob.Response:
        return self._list(req, image_detail, "images/detail")

    def _list(self, req: webob.Request, view: Any, collection: str) -> webob.Response:
        context = common.context_of(req)
        limit, marker = common.limit_and_marker(req)
        changes_since = None
        if "changes-since" in req.params:
            raw = req.params["changes-since"]
            try:
                changes_since = timeutils.parse_isotime(raw)
            except ValueError:
                raise common.BadRequest(reason=(
                    f"Invalid input for field/attribute changes-since. Value: {raw}. "
                    f"'{raw}' is not a 'date-time'")) from None
        images = self.images.get_all(context, project_id=common.project_scope(context))
        images = [image for image in images if _matches(image, req.params)]
        if changes_since is not None:
            images = [image for image in images
                      if _aware(views.updated_at(image) or changes_since) >=
                      _aware(changes_since)]
        images = common.page(images, limit, marker, "id")
        return common.list_response(req, "images", [view(req, image) for image in images],
                                    collection, limit)

    def show(self, req: webob.Request, image_id: str) -> webob.Response:
        context = common.context_of(req)
        image = get_visible(self.images, context, image_id)
        return common.json_response({"image": image_detail(req, image)})

    def delete(self, req: webob.Request, image_id: str) -> webob.Response:
        """204; 403 for an image of another project or a protected one, 409 while a
        snapshot is being written into it."""
        context = common.context_of(req)
        images = self.images
        image = get_visible(images, context, image_id)
        check_owner(context, image, "delete")
        if views._get(image, "protected"):
            raise exception.ImageNotAuthorized(
                reason="You are not allowed to delete the image.")
        if views._get(image, "status") in BUSY_STATUSES:
            raise exception.ImageInUse(image_id=image_id,
                                       reason="its data is still being written")
        try:
            images.delete(context, image_id)
        except exception.Forbidden as error:  # protected meanwhile, or the backend's rule
            raise exception.ImageNotAuthorized(reason=error.message) from None
        return common.empty_response(204)


def _aware(value: Any) -> Any:
    """A datetime comparable with a parsed ISO time (naive values are UTC)."""
    if isinstance(value, str):
        value = timeutils.parse_isotime(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value
